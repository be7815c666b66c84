/** Canvas drawing for the 2-D page: the decision map with the points over it. */
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
