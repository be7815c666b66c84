/**
 * A training step allocates nothing (DESIGN.md, "memory is planned"): over thousands of steps
 * through the public API, backend memory keeps exactly the size it had after the first epoch, the
 * JS heap retains nothing, and between collections it grows by no buffer per step.
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
/** Steps at which the heap is collected and read; between the first two nothing is collected. */
const WINDOW = { from: 400, to: 1400 };
const COLLECT_AT = [WINDOW.from, WINDOW.to, STEPS - 1];
/** Retained heap may grow by fit's own few objects between reads, not by anything per step. */
const RETAINED_ALLOWANCE = 64 * 1024;
/**
 * Short-lived allocation per step, between collections. A buffer per step (activations, gradients:
 * here ≥ 8 × 16 floats, with headers well over 512 bytes) fails this. It tolerates V8 boxing a
 * double that is passed to a kernel call that is not inlined (16 bytes each): a step currently
 * makes a few of those (alpha, hyper-parameters, the loss value).
 */
const STEP_ALLOWANCE = 512;

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

    let smallest = Infinity, largest = 0, steps = 0, windowEnd = 0;
    const retained: number[] = [];
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
          if (batch === WINDOW.to) windowEnd = process.memoryUsage().heapUsed;
          if (COLLECT_AT.includes(batch)) {
            gc();
            retained.push(process.memoryUsage().heapUsed);
          }
        },
      },
    });
    model.dispose();

    expect(steps).toBe(STEPS);
    expect({ smallest, largest }, 'backend memory size during the steps').toEqual({ smallest: planned, largest: planned });
    // Growth only: the heap may shrink (V8 drops code and caches it no longer needs).
    const grown = Math.max(...retained) - retained[0]!;
    expect(grown, `retained heap grew by ${grown} bytes (${retained.join(', ')})`).toBeLessThan(RETAINED_ALLOWANCE);
    const perStep = (windowEnd - retained[0]!) / (WINDOW.to - WINDOW.from);
    expect(perStep, `a step allocated ${perStep.toFixed(0)} bytes on average`).toBeLessThan(STEP_ALLOWANCE);
  });
});
