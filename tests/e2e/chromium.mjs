// Launches Debian's headless Chromium through playwright-core with the
// flags that make WebRTC work in a loopback-only network namespace
// (see shared TESTING.md): fake camera and microphone, loopback candidates,
// no mDNS hiding of local addresses, and nothing that reaches the network.
// Also what the Chromium tests share in the page: devices of a known colour
// and pitch, the pitch of a received track, the demo page's Phone line view.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// The /usr/bin/chromium wrapper breaks on machines where /dev/shm is mounted twice.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Runs fn(page) in a fresh browser profile; always closes the browser and
 * removes the profile, whatever fn does.
 */
export async function withChromium(fn, { viewport = { width: 1280, height: 900 } } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'partyline-chromium-'));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport,
      timeout: 30000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => console.log(`[page ${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => console.log(`[page error] ${error.message}`));
    return await fn(page);
  } finally {
    if (context) await context.close().catch((error) => console.error('closing Chromium:', error.message));
    await rm(userDataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- in the page

/**
 * An init script (`context.addInitScript(fakeDevicesIn, { rgb, hz })`): in
 * the page, before its scripts, getUserMedia replaces the fake microphone
 * (the same beeps on every page) by a sine of `hz` Hz from an
 * OscillatorNode, and the camera by a canvas painted in `rgb`, with a frame
 * counter, so that frames keep coming (a canvas stream sends a frame only
 * when the canvas changed).
 */
export function fakeDevicesIn({ rgb, hz }) {
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    if (constraints?.audio) {
      const audio = new AudioContext({ sampleRate: 48000 });
      const oscillator = new OscillatorNode(audio, { type: 'sine', frequency: hz });
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(destination);
      oscillator.start();
      for (const track of stream.getAudioTracks()) {
        stream.removeTrack(track);
        track.stop();
      }
      stream.addTrack(destination.stream.getAudioTracks()[0]);
    }
    if (!constraints?.video) return stream;
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    const context = canvas.getContext('2d');
    let frame = 0;
    const paint = () => {
      context.fillStyle = `rgb(${rgb.join(',')})`;
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.fillStyle = 'white';
      context.fillText(String(frame++), 8, 16);
    };
    paint();
    setInterval(paint, 1000 / 15);
    for (const track of stream.getVideoTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    stream.addTrack(canvas.captureStream(15).getVideoTracks()[0]);
    return stream;
  };
}

/**
 * An init script (`context.addInitScript(pitchAnalysisIn)`): defines
 * `window.loudestPitch(track)` in the page, the loudest frequency (Hz) of an
 * audio track and its level (dB), `{ hz, db }`, or null while it hears
 * silence; from a 4096-point FFT (11.7 Hz per bin at 48 kHz) of an
 * AnalyserNode kept per track.
 */
export function pitchAnalysisIn() {
  const analysers = new WeakMap();
  let context = null;
  window.loudestPitch = (track) => {
    let analyser = analysers.get(track);
    if (!analyser) {
      context ??= new AudioContext({ sampleRate: 48000 });
      analyser = new AnalyserNode(context, { fftSize: 4096, smoothingTimeConstant: 0 });
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      analysers.set(track, analyser);
    }
    const levels = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(levels);
    let loudest = 1; // bin 0 is the DC offset, not a tone
    for (let bin = 2; bin < levels.length; bin += 1) if (levels[bin] > levels[loudest]) loudest = bin;
    if (!(levels[loudest] > -90)) return null;
    return { hz: Math.round((loudest * context.sampleRate) / analyser.fftSize), db: Math.round(levels[loudest]) };
  };
}

/** Opens the demo page's Phone line view at `url` with `name` filled in. */
export async function openLineView(page, name, url) {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.phoneLine !== undefined, null, { timeout: 5000 });
  if (await page.isHidden('#line-view')) await page.click('#tab-line');
  await page.fill('#line-name', name);
}
