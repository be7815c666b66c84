/**
 * A training step allocates nothing (docs/ARCHITECTURE.md, 'The memory plan'): over thousands of steps
 * through the public API, backend memory keeps exactly the size it had after the first epoch, the
 * JS heap retains nothing, and between collections it grows by (almost) nothing per step.
 *
 * The heap is read from V8's heap spaces, whose used sizes follow bump allocation, right after a
 * forced collection. Code spaces are left out: V8 adds optimized code there as the step's functions
 * warm up, which is not data the step keeps. vitest does not start its workers with --expose-gc, so
 * the flag is set at run time and `gc` taken from a fresh context, where V8 installs it.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
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

/** Bytes in use on the JS heap, code excluded. */
function heapBytes(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) if (!space.space_name.includes('code')) used += space.space_used_size;
  return used;
}

const FEATURES = 20;
const HIDDEN = [64, 32];
const CLASSES = 3;
const BATCH = 8;
const STEPS = 4000;
/** fit() calls measured after the first; each is STEPS steps. */
const ROUNDS = 3;
/**
 * Steps of each fit between which nothing is collected. They come late in the fit, once V8 has
 * optimized the step again: early steps of a fit may run unoptimized and box doubles
 * (docs/ARCHITECTURE.md, 'Number boxing').
 */
const WINDOWS = [{ from: 2400, to: 3200 }, { from: 3200, to: 3999 }];
/** Retained heap may grow by fit's own few objects between fits, not by anything per step. */
const RETAINED_ALLOWANCE = 64 * 1024;
/**
 * Short-lived allocation per step, between collections (the least of the windows). Once both
 * backends have trained in one process (as here, js then wasm), the loss a kernel returns is boxed:
 * 16 bytes (docs/ARCHITECTURE.md, 'Number boxing'). Reading the heap statistics adds some 3 bytes
 * per step. Any typed array (64 bytes and more) or a few boxed doubles per step fail this.
 */
const STEP_ALLOWANCE = 48;

describe.each(BACKEND_NAMES)('%s backend', (backend) => {
  it(`keeps backend memory and the JS heap flat over ${ROUNDS} × ${STEPS} training steps`, async () => {
    const gc = collector();
    const rng = mulberry32(11);
    const rows = STEPS * BATCH;
    const x = { data: uniform(rng, rows * FEATURES), shape: [rows, FEATURES] as [number, number] };
    const y = Array.from({ length: rows }, () => Math.floor(rng() * CLASSES));
    const model = await sequential({
      layers: [
        dense({ units: HIDDEN[0], activation: 'relu', inputShape: [FEATURES] }),
        dense({ units: HIDDEN[1], activation: 'tanh' }),
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
    const retained = [heapBytes()];
    const perStep: number[] = [];

    let smallest = Infinity, largest = 0, steps = 0, windowStart = 0, current = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await model.fit(x, y, {
        epochs: 1,
        batchSize: BATCH,
        seed: 2 + round,
        callbacks: {
          onBatchEnd(batch) {
            const bytes = memoryBytes();
            if (bytes < smallest) smallest = bytes;
            if (bytes > largest) largest = bytes;
            steps++;
            if (batch === 0) current = 0;
            const w = WINDOWS[current];
            if (w === undefined) return;
            if (batch === w.to) {
              perStep.push((heapBytes() - windowStart) / (w.to - w.from));
              current++;
            }
            if (batch === WINDOWS[current]?.from) {
              gc();
              windowStart = heapBytes();
            }
          },
        },
      });
      gc();
      retained.push(heapBytes());
    }
    model.dispose();

    expect(steps).toBe(ROUNDS * STEPS);
    expect({ smallest, largest }, 'backend memory size during the steps').toEqual({ smallest: planned, largest: planned });
    // A leak grows the heap in every round; V8's own one-off work (background compilation landing,
    // feedback) shows in one round at most. So the least growth and the least allocation count.
    const growth = retained.slice(1).map((r, i) => r - retained[i]);
    expect(Math.min(...growth), `retained heap growth per round: ${growth.join(', ')} bytes`).toBeLessThan(RETAINED_ALLOWANCE);
    const rounded = perStep.map((b) => b.toFixed(0)).join(', ');
    expect(perStep.length).toBe(ROUNDS * WINDOWS.length);
    expect(Math.min(...perStep), `bytes allocated per step, by window: ${rounded}`).toBeLessThan(STEP_ALLOWANCE);
  });
});

/**
 * Bytes a step allocates between collections (the least over windows of 49 steps) for a model
 * whose GEMMs and update are cut into parts on 2 threads, or run whole on 1.
 */
async function stepAllocation(threads: number): Promise<{ least: number; all: string }> {
  const gc = collector();
  const rng = mulberry32(12);
  const features = 256, batch = 64, batches = 50, rows = batch * batches;
  const x = { data: uniform(rng, rows * features), shape: [rows, features] as [number, number] };
  const y = Array.from({ length: rows }, () => Math.floor(rng() * CLASSES));
  const model = await sequential({
    layers: [
      dense({ units: 128, activation: 'relu', inputShape: [features] }),
      dense({ units: 64, activation: 'tanh' }),
      dense({ units: CLASSES, activation: 'softmax' }),
    ],
    threads,
    seed: 3,
  });
  expect(model.threads).toBe(threads);
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  await model.fit(x, y, { epochs: 20, batchSize: batch, seed: 1 });
  const perStep: number[] = [];
  let step = 0, windowStart = 0;
  await model.fit(x, y, {
    epochs: 40,
    batchSize: batch,
    seed: 2,
    callbacks: {
      onBatchEnd() {
        // Windows inside an epoch (its second batch to its last), so that no epoch's logs fall in one.
        const within = ++step % batches;
        if (within === 1) {
          gc();
          windowStart = heapBytes();
        } else if (within === 0 && windowStart > 0) {
          perStep.push((heapBytes() - windowStart) / (batches - 1));
          windowStart = 0;
        }
      },
    },
  });
  model.dispose();
  return { least: Math.min(...perStep), all: perStep.map((b) => b.toFixed(0)).join(', ') };
}

describe('threads', () => {
  it('a step on 2 threads, its GEMMs and update cut into parts, allocates no more than on 1', async () => {
    const one = await stepAllocation(1);
    const two = await stepAllocation(2);
    // On one thread the callback and its logs take some 50 bytes a step here. Once a process has
    // run both the one-thread and the threaded backend (as here), a call site that has seen both
    // boxes one double a step, 16 bytes (docs/ARCHITECTURE.md, 'Number boxing'); a boxed double
    // per part, or an array, would show above that.
    expect(two.least, `bytes per step by window, 2 threads: ${two.all}; 1 thread: ${one.all}`).toBeLessThanOrEqual(one.least + 24);
  }, 180_000);
});
