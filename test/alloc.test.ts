/**
 * A training step allocates nothing (DESIGN.md, "memory is planned"): over thousands of steps
 * through the public API, backend memory keeps exactly the size it had after the first epoch, and
 * the JS heap neither grows between garbage collections nor keeps anything afterwards.
 *
 * The heap is read with process.memoryUsage().heapUsed, which follows V8's bump allocation, right
 * after a forced collection. vitest does not start its workers with --expose-gc, so the flag is
 * set at run time and `gc` taken from a fresh context, where V8 installs it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dense, sequential } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32, uniform } from './prng.js';

function collector(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global) return global;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const FEATURES = 20;
const CLASSES = 3;
const BATCH = 8;
const STEPS = 2000;
/** Steps measured without collection in between, after the code has been optimized. */
const WINDOW = { from: 500, to: 1500 };
/**
 * Allowed heap growth over the window. Reading heapUsed itself allocates (about 2 KB); a step
 * that allocated even one small object (≥ 16 bytes) would add 16 KB or more over 1,000 steps.
 */
const WINDOW_ALLOWANCE = 8 * 1024;
/** Allowed retained growth after a full fit and a collection: fit's own history and log objects. */
const RETAINED_ALLOWANCE = 64 * 1024;

describe.each(BACKEND_NAMES)('%s backend', (backend) => {
  it(`keeps backend memory and the JS heap flat over ${STEPS} training steps`, async () => {
    const gc = collector();
    const rng = mulberry32(11);
    const rows = STEPS * BATCH;
    const x = { data: uniform(rng, rows * FEATURES), shape: [rows, FEATURES] as [number, number] };
    const y = Array.from({ length: rows }, () => Math.floor(rng() * CLASSES));
    const model = await sequential({
      layers: [
        dense({ units: 32, activation: 'relu', inputShape: [FEATURES] }),
        dense({ units: 16, activation: 'tanh' }),
        dense({ units: CLASSES, activation: 'softmax' }),
      ],
      backend,
      seed: 3,
    });
    model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const memoryBytes = (): number => model.backend.f32.buffer.byteLength;

    // The first epoch lays out (and grows) memory and gets the step's code optimized.
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, seed: 1 });
    const planned = memoryBytes();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    let smallest = Infinity, largest = 0, steps = 0, windowStart = 0, windowEnd = 0;
    await model.fit(x, y, {
      epochs: 1,
      batchSize: BATCH,
      seed: 2,
      callbacks: {
        onBatchEnd(batch) {
          const bytes = memoryBytes();
          if (bytes < smallest) smallest = bytes;
          if (bytes > largest) largest = bytes;
          steps++;
          if (batch === WINDOW.from) {
            gc();
            windowStart = process.memoryUsage().heapUsed;
          } else if (batch === WINDOW.to) {
            windowEnd = process.memoryUsage().heapUsed;
          }
        },
      },
    });
    gc();
    const heapAfter = process.memoryUsage().heapUsed;

    expect(steps).toBe(STEPS);
    expect({ smallest, largest }).toEqual({ smallest: planned, largest: planned });
    expect(memoryBytes()).toBe(planned);
    const windowGrowth = windowEnd - windowStart;
    expect(windowGrowth, `heap grew ${windowGrowth} bytes over ${WINDOW.to - WINDOW.from} steps`).toBeLessThan(WINDOW_ALLOWANCE);
    const retained = heapAfter - heapBefore;
    expect(retained, `heap kept ${retained} bytes after ${STEPS} steps`).toBeLessThan(RETAINED_ALLOWANCE);
    model.dispose();
  });
});
