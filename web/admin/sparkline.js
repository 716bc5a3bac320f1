// A small bitrate chart on a canvas: the last 60 samples (one a second) of
// a participant's published and received bitrate, on one scale.

export const HISTORY = 60;

/** Keeps the last HISTORY samples of { published, received } (bit/s). */
export class BitrateHistory {
  constructor() {
    this.samples = [];
  }

  add(published, received) {
    this.samples.push({ published, received });
    if (this.samples.length > HISTORY) this.samples.shift();
  }
}

const COLOURS = { published: '#2f7dd1', received: '#1f9d6b' };

/** Draws `history` on `canvas` (sized for the device's pixel ratio); sets data-samples to what it drew. */
export function drawSparkline(canvas, history) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 240;
  const height = canvas.clientHeight || 48;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const samples = history.samples;
  const peak = Math.max(1, ...samples.map((sample) => Math.max(sample.published, sample.received)));
  const step = width / (HISTORY - 1);
  const x = (index) => width - (samples.length - 1 - index) * step;
  const y = (value) => height - 2 - (value / peak) * (height - 6);
  context.strokeStyle = 'rgba(127, 127, 127, 0.25)';
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(0, height - 1.5);
  context.lineTo(width, height - 1.5);
  context.stroke();
  for (const series of ['received', 'published']) {
    if (samples.length < 2) break;
    context.strokeStyle = COLOURS[series];
    context.lineWidth = 1.5;
    context.lineJoin = 'round';
    context.beginPath();
    samples.forEach((sample, index) => {
      if (index === 0) context.moveTo(x(index), y(sample[series]));
      else context.lineTo(x(index), y(sample[series]));
    });
    context.stroke();
  }
  canvas.dataset.samples = String(samples.length);
  canvas.dataset.peakBps = String(Math.round(peak));
}
