/** Canvas drawing for the demo: the decision map with the points over it, and the training chart. */
import type { Bounds } from './protocol.js';

const PALETTE: [number, number, number][] = [
  [59, 117, 214],
  [222, 84, 60],
  [46, 160, 90],
  [232, 170, 20],
  [140, 80, 190],
];
const css = ([r, g, b]: [number, number, number]) => `rgb(${r} ${g} ${b})`;

export interface Points {
  points: Float32Array;
  labels: Int32Array;
  classes: number;
  bounds: Bounds;
}

/**
 * Paints each cell of the gridSize² map in the class colours weighted by the predicted
 * probabilities, washed out towards white so the points stay readable, then the points.
 */
export function drawBoundary(
  canvas: HTMLCanvasElement,
  data: Points,
  grid: Float32Array | null,
  gridSize: number,
): void {
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (grid) {
    const image = new ImageData(gridSize, gridSize);
    const cols = data.classes === 2 ? 1 : data.classes;
    for (let i = 0; i < gridSize * gridSize; i++) {
      let r = 0, g = 0, b = 0;
      for (let c = 0; c < data.classes; c++) {
        const p = cols === 1 ? (c === 1 ? grid[i] : 1 - grid[i]) : grid[i * cols + c];
        const [cr, cg, cb] = PALETTE[c % PALETTE.length];
        r += p * cr; g += p * cg; b += p * cb;
      }
      image.data.set([0.45 * r + 140, 0.45 * g + 140, 0.45 * b + 140, 255], 4 * i);
    }
    // Draw at grid resolution, then let the browser scale it up smoothly.
    const small = new OffscreenCanvas(gridSize, gridSize);
    small.getContext('2d')!.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }
  const { x0, y0, size } = data.bounds;
  const sx = canvas.width / size, sy = canvas.height / size;
  ctx.lineWidth = 1;
  ctx.strokeStyle = 'rgb(255 255 255 / 0.9)';
  for (let i = 0; i < data.labels.length; i++) {
    ctx.beginPath();
    ctx.arc((data.points[2 * i] - x0) * sx, (y0 + size - data.points[2 * i + 1]) * sy, 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = css(PALETTE[data.labels[i] % PALETTE.length]);
    ctx.fill();
    ctx.stroke();
  }
}

/** Loss (left scale, from 0 to its largest value) and accuracy (right scale, 0 to 1) by epoch. */
export function drawChart(canvas: HTMLCanvasElement, epochs: number[], loss: number[], acc: number[]): void {
  const ctx = canvas.getContext('2d')!;
  const w = canvas.width, h = canvas.height;
  const box = { left: 10, top: 24, right: w - 10, bottom: h - 22 };
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px system-ui, sans-serif';
  ctx.strokeStyle = '#c4cad4';
  ctx.lineWidth = 1;
  ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  const lastEpoch = Math.max(1, epochs.at(-1) ?? 1);
  const maxLoss = loss.reduce((a, b) => Math.max(a, b), 1e-6);
  const x = (e: number) => box.left + ((box.right - box.left) * e) / lastEpoch;
  const y = (v: number) => box.bottom - (box.bottom - box.top) * v;
  // About one point per pixel column is all a line can show; long runs are thinned to that.
  const step = Math.max(1, Math.floor(epochs.length / (box.right - box.left)));
  const line = (values: number[], scale: number, colour: string) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let i = 0; i < values.length; i += step) {
      if (i === 0) ctx.moveTo(x(epochs[i]), y(values[i] / scale));
      else ctx.lineTo(x(epochs[i]), y(values[i] / scale));
    }
    ctx.stroke();
  };
  line(loss, maxLoss, css(PALETTE[0]));
  line(acc, 1, css(PALETTE[1]));
  ctx.textBaseline = 'bottom';
  ctx.fillStyle = css(PALETTE[0]);
  ctx.fillText(`loss (top: ${maxLoss.toPrecision(2)})`, box.left, box.top - 4);
  ctx.fillStyle = css(PALETTE[1]);
  ctx.textAlign = 'right';
  ctx.fillText('accuracy (top: 100%)', box.right, box.top - 4);
  ctx.fillStyle = '#566070';
  ctx.textBaseline = 'top';
  ctx.fillText(`epoch ${epochs.length ? lastEpoch : 0}`, box.right, box.bottom + 4);
  ctx.textAlign = 'left';
  ctx.fillText('0', box.left, box.bottom + 4);
}
