/**
 * The drawing pad, and the preprocessing that turns a drawing into an MNIST-like image. MNIST's
 * digits were made this way: each digit's bounding box scaled (keeping its aspect ratio) to fit
 * 20×20 with anti-aliasing, then placed in a 28×28 field so that its centre of mass is at the
 * centre. A network trained on them reads a drawing well only after the same steps.
 */

export const SIDE = 28;
const BOX = 20;

/**
 * Weights of an area-averaging resample from `from` samples to `to`: target i averages the source
 * interval [i·r, (i+1)·r), r = from / to, each source sample weighted by how much of it lies inside.
 */
function areaWeights(from: number, to: number): { start: number; weights: number[] }[] {
  const r = from / to;
  return Array.from({ length: to }, (_, i) => {
    const lo = i * r, hi = (i + 1) * r;
    const start = Math.floor(lo);
    const weights: number[] = [];
    for (let j = start; j < Math.min(from, Math.ceil(hi)); j++) weights.push((Math.min(hi, j + 1) - Math.max(lo, j)) / r);
    return { start, weights };
  });
}

/** The w×h window at (x0, y0) of `image` (row stride `stride`), averaged down to tw×th. */
function resample(image: Float32Array, stride: number, x0: number, y0: number, w: number, h: number, tw: number, th: number): Float32Array {
  const across = areaWeights(w, tw), down = areaWeights(h, th);
  const rows = new Float32Array(h * tw);
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * stride + x0;
    across.forEach(({ start, weights }, tx) => {
      let sum = 0;
      weights.forEach((wt, k) => (sum += wt * image[row + start + k]));
      rows[y * tw + tx] = sum;
    });
  }
  const out = new Float32Array(th * tw);
  down.forEach(({ start, weights }, ty) => {
    for (let tx = 0; tx < tw; tx++) {
      let sum = 0;
      weights.forEach((wt, k) => (sum += wt * rows[(start + k) * tw + tx]));
      out[ty * tw + tx] = sum;
    }
  });
  return out;
}

/**
 * A drawing as MNIST's 28×28 pixels in [0, 1], from its ink (0 = paper, 1 = ink) at width×height;
 * null when there is no ink.
 */
export function toMnist(ink: Float32Array, width: number, height: number, threshold = 0.05): Float32Array | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > threshold) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale)), th = Math.max(1, Math.round(h * scale));
  const small = resample(ink, width, x0, y0, w, h, tw, th);
  // Centre of mass of the scaled digit, in its own pixel coordinates.
  let mass = 0, mx = 0, my = 0;
  small.forEach((v, i) => {
    mass += v;
    mx += v * (i % tw);
    my += v * Math.floor(i / tw);
  });
  // Placed so that the centre of mass lands on pixel (14, 14), as in the usual MNIST recipe.
  const left = Math.round(SIDE / 2 - mx / mass), top = Math.round(SIDE / 2 - my / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const ox = x + left, oy = y + top;
      if (ox >= 0 && ox < SIDE && oy >= 0 && oy < SIDE) out[oy * SIDE + ox] = Math.min(1, small[y * tw + x]);
    }
  }
  return out;
}

/**
 * A canvas to draw on with a mouse, a finger or a pen (pointer events). `onChange` gets the
 * drawing's MNIST image after each stroke segment (at most once a frame) and at the end of each
 * stroke (`final`), or null once cleared.
 */
export class DrawingPad {
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  readonly #onChange: (pixels: Float32Array | null, final: boolean) => void;
  #last: { x: number; y: number } | null = null;
  #queued = false;

  constructor(canvas: HTMLCanvasElement, onChange: (pixels: Float32Array | null, final: boolean) => void) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.#onChange = onChange;
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    for (const type of ['pointerup', 'pointercancel'] as const) canvas.addEventListener(type, (e) => this.#up(e));
  }

  clear(): void {
    this.#ctx.clearRect(0, 0, this.#canvas.width, this.#canvas.height);
    this.#onChange(null, true);
  }

  /** The pointer in canvas pixels (the canvas may be shown smaller or larger than it is). */
  #at(e: PointerEvent): { x: number; y: number } {
    const box = this.#canvas.getBoundingClientRect();
    return { x: ((e.clientX - box.left) * this.#canvas.width) / box.width, y: ((e.clientY - box.top) * this.#canvas.height) / box.height };
  }

  #down(e: PointerEvent): void {
    if (e.button !== 0) return;
    e.preventDefault();
    this.#canvas.setPointerCapture(e.pointerId);
    this.#last = this.#at(e);
    this.#segment(this.#last, this.#last);
  }

  #move(e: PointerEvent): void {
    if (!this.#last) return;
    const p = this.#at(e);
    this.#segment(this.#last, p);
    this.#last = p;
    if (!this.#queued) {
      this.#queued = true;
      requestAnimationFrame(() => {
        this.#queued = false;
        if (this.#last) this.#onChange(this.pixels(), false);
      });
    }
  }

  #up(e: PointerEvent): void {
    if (!this.#last) return;
    this.#last = null;
    if (this.#canvas.hasPointerCapture(e.pointerId)) this.#canvas.releasePointerCapture(e.pointerId);
    this.#onChange(this.pixels(), true);
  }

  #segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const ctx = this.#ctx;
    ctx.lineWidth = this.#canvas.width / 14;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.strokeStyle = '#000';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + 0.01, b.y);
    ctx.stroke();
  }

  /** The drawing as MNIST pixels (the canvas' alpha is the ink), or null when it is empty. */
  pixels(): Float32Array | null {
    const { width, height } = this.#canvas;
    const rgba = this.#ctx.getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i + 3] / 255;
    return toMnist(ink, width, height);
  }
}

/** Paints 28×28 pixels in [0, 1] as white ink on black, the way MNIST stores digits. */
export function paintDigit(canvas: HTMLCanvasElement, pixels: Float32Array | null): void {
  const ctx = canvas.getContext('2d')!;
  const image = new ImageData(SIDE, SIDE);
  if (pixels) pixels.forEach((v, i) => image.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i));
  else for (let i = 0; i < SIDE * SIDE; i++) image.data[4 * i + 3] = 255;
  const small = new OffscreenCanvas(SIDE, SIDE);
  small.getContext('2d')!.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}
