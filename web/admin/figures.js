// What the dashboard shows of one session, computed from its
// GET /admin/v1/sessions/{id} answer (docs/admin-api.md): pure functions,
// no DOM.

const sum = (values) => values.reduce((total, value) => total + (Number(value) || 0), 0);

/**
 * { publishedBps, receivedBps, fractionLost, lost, upstreamLost, rttMs,
 *   drops, dropReasons, legs } of a session's figures; null when it has
 *   none (no line PeerConnection yet).
 */
export function sessionFigures(session) {
  const streams = session?.streams;
  if (!streams) return null;
  const published = streams.published ?? [];
  const received = streams.received ?? [];
  const rtts = received.map((leg) => leg.round_trip_ms).filter((value) => typeof value === 'number' && value > 0);
  const dropReasons = {};
  for (const [reason, count] of Object.entries(session.transport?.receive_drops ?? {})) {
    dropReasons[reason] = count;
  }
  for (const [name, count] of Object.entries(streams)) {
    if (name.endsWith('_drops') && typeof count === 'number') dropReasons[name.replace(/_drops$/, '')] = count;
  }
  return {
    publishedBps: sum(published.map((stream) => stream.bitrate_bps)),
    receivedBps: sum(received.map((leg) => leg.bitrate_bps)),
    // The worst leg's loss over its last report interval, and loss so far.
    fractionLost: received.length ? Math.max(...received.map((leg) => Number(leg.fraction_lost) || 0)) : null,
    lost: sum(received.map((leg) => leg.lost)),
    upstreamLost: sum(published.map((stream) => stream.lost)),
    rttMs: rtts.length ? sum(rtts) / rtts.length : null,
    drops: sum(Object.values(dropReasons)),
    dropReasons,
    legs: received.length,
  };
}

/** "1.23 Mbit/s", "45.6 kbit/s", "0 bit/s". */
export function formatBitrate(bps) {
  if (!(bps > 0)) return '0 bit/s';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

/** "3 h 02 min", "4 min 05 s", "12 s". */
export function formatUptime(ms) {
  const seconds = Math.floor(ms / 1000);
  const pad = (value) => String(value).padStart(2, '0');
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${pad(Math.floor(seconds / 60) % 60)} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${pad(seconds % 60)} s`;
  return `${seconds} s`;
}

/** The first 8 characters of a session id: enough to tell sessions apart on screen. */
export const shortId = (id) => String(id ?? '').slice(0, 8);
