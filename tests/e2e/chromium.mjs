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
 * when the canvas changed). The same sources are there for other uses too:
 * `window.canvasVideoTrack(rgb)` (a 320x240, 15 fps canvas, e.g. a screen
 * share of another colour; `canvasVideoTrack(rgb, { width, height, fps })`
 * at another size and rate) and `window.sineAudioTrack(hz)`, and
 * `window.fakeCameraTrack(width, height, fps)` (async): Chromium's own fake
 * camera track at that size and rate, not replaced, and
 * `window.detailedVideoTrack(width, height, fps)`: a canvas of panned noise
 * under a moving gradient, for an encoder that should need megabits.
 */
export function fakeDevicesIn({ rgb, hz }) {
  const sineAudioTrack = (frequency) => {
    const audio = new AudioContext({ sampleRate: 48000 });
    const oscillator = new OscillatorNode(audio, { type: 'sine', frequency });
    const destination = audio.createMediaStreamDestination();
    oscillator.connect(destination);
    oscillator.start();
    return destination.stream.getAudioTracks()[0];
  };
  const canvasVideoTrack = (colour, { width = 320, height = 240, fps = 15 } = {}) => {
    const canvas = Object.assign(document.createElement('canvas'), { width, height });
    const context = canvas.getContext('2d');
    let frame = 0;
    const paint = () => {
      context.fillStyle = `rgb(${colour.join(',')})`;
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.fillStyle = 'white';
      context.fillText(String(frame++), 8, 16);
    };
    paint();
    setInterval(paint, 1000 / fps);
    return canvas.captureStream(fps).getVideoTracks()[0];
  };
  // A camera-sized source with detail enough to need megabits: a tile of
  // seeded noise panned a few pixels per frame under a translucent
  // gradient whose hue turns. Cheap to draw (one pattern fill and one
  // gradient fill per frame); the encoder sees motion it can predict, not
  // new noise every frame.
  const detailedVideoTrack = (width, height, fps) => {
    const canvas = Object.assign(document.createElement('canvas'), { width, height });
    const context = canvas.getContext('2d');
    const tile = Object.assign(document.createElement('canvas'), { width: 256, height: 256 });
    const tileContext = tile.getContext('2d');
    const noise = tileContext.createImageData(tile.width, tile.height);
    let seed = 19;
    for (let index = 0; index < noise.data.length; index += 4) {
      seed ^= seed << 13; // xorshift32
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      const value = 96 + ((seed >>> 8) & 63);
      noise.data.set([value, value, value, 255], index);
    }
    tileContext.putImageData(noise, 0, 0);
    const pattern = context.createPattern(tile, 'repeat');
    let frame = 0;
    const paint = () => {
      context.save();
      context.translate((frame * 3) % tile.width, frame % tile.height);
      context.fillStyle = pattern;
      context.fillRect(-tile.width, -tile.height, width + tile.width, height + tile.height);
      context.restore();
      const gradient = context.createLinearGradient(0, 0, width, 0);
      gradient.addColorStop(0, `hsla(${(frame * 2) % 360}, 80%, 50%, 0.5)`);
      gradient.addColorStop(1, 'rgba(0, 0, 0, 0.2)');
      context.fillStyle = gradient;
      context.fillRect(0, 0, width, height);
      frame += 1;
    };
    paint();
    setInterval(paint, 1000 / fps);
    return canvas.captureStream(fps).getVideoTracks()[0];
  };
  window.sineAudioTrack = sineAudioTrack;
  window.canvasVideoTrack = canvasVideoTrack;
  window.detailedVideoTrack = detailedVideoTrack;
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  // Chromium's own fake camera (--use-fake-device-for-media-stream) at a
  // given size and rate, through the getUserMedia that the override below
  // replaces: for tests that need a camera-sized source, not a flat canvas.
  window.fakeCameraTrack = async (width, height, fps) => {
    const stream = await getUserMedia({ video: { width: { exact: width }, height: { exact: height },
      frameRate: { exact: fps } } }); // at most 20 fps without --use-fake-device-for-media-stream=fps=N
    return stream.getVideoTracks()[0];
  };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    if (constraints?.audio) {
      for (const track of stream.getAudioTracks()) {
        stream.removeTrack(track);
        track.stop();
      }
      stream.addTrack(sineAudioTrack(hz));
    }
    if (!constraints?.video) return stream;
    for (const track of stream.getVideoTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    stream.addTrack(canvasVideoTrack(rgb));
    return stream;
  };
}

/**
 * An init script (`context.addInitScript(colourAnalysisIn)`): defines
 * `window.trackColour(track)` in the page, the average colour [r, g, b] of
 * the middle of a video track's current frame (the middle half in each
 * direction, away from the frame counter that fakeDevicesIn paints in a
 * corner), or null before its first frame; from a muted video element kept
 * per track.
 */
export function colourAnalysisIn() {
  const videos = new WeakMap();
  window.trackColour = (track) => {
    let video = videos.get(track);
    if (!video) {
      video = Object.assign(document.createElement('video'), { muted: true, autoplay: true, playsInline: true });
      video.srcObject = new MediaStream([track]);
      video.play().catch(() => {});
      videos.set(track, video);
    }
    if (!video.videoWidth) return null;
    const canvas = Object.assign(document.createElement('canvas'), { width: 32, height: 24 });
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(8, 6, 16, 12);
    const sums = [0, 0, 0];
    for (let index = 0; index < data.length; index += 4) {
      for (let channel = 0; channel < 3; channel += 1) sums[channel] += data[index + channel];
    }
    return sums.map((sum) => Math.round(sum / (data.length / 4)));
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
