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
import type { BackendName } from '../src/backend/index.js';
import { activation, batchNormalization, dense, sequential, type LayerConfig } from '../src/index.js';
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
/**
 * fit() calls measured after the first; each is STEPS steps. Five: in a parallel test run, with
 * other files taking the cores, V8 has taken up to three of them to settle the two-thread step's
 * code (boxing numbers meanwhile, some 300 bytes a step); the least window is what is asserted.
 */
const ROUNDS = 5;
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
/**
 * fit yields to the event loop every 20 ms of work (a promise, an Immediate, an async resumption,
 * and what a turn of the event loop allocates: about 1.3 kB measured), which is per time, not per step: a
 * window's bytes are charged this much per yield before they are divided by its steps.
 */
const YIELD_ALLOWANCE = 2048;
/**
 * And for each time the calling thread slept in Atomics.wait for a late worker, or woke a sleeping
 * one (ThreadPool.sleeps): V8 allocates some tens of bytes inside those calls (80 for a wait that
 * is woken or times out, 15 for one that returns at once, 8 for a notify, measured in Node 20).
 * They happen when another process takes a worker's core, as other test files do in a parallel run.
 */
const SLEEP_ALLOWANCE = 128;

/**
 * The plain model, one with the features added after it (a schedule, clipping, AdamW, a
 * regularizer, swish), and one with batch normalization before the first activation and after the
 * second.
 */
const VARIANTS = [
  { name: 'adam', optimizer: 'adam', hidden: 'relu', regularizer: undefined, norm: false },
  {
    name: 'adamw with a cosine schedule, clipNorm, a kernel regularizer and swish',
    optimizer: { type: 'adamw', learningRate: { type: 'cosineDecay', initialLearningRate: 0.001, decaySteps: 10000 }, clipNorm: 1 },
    hidden: 'swish',
    regularizer: { l1: 1e-5, l2: 1e-4 },
    norm: false,
  },
  { name: 'adam with batch normalization before and after an activation', optimizer: 'adam', hidden: 'relu', regularizer: undefined, norm: true },
] as const;

function layersOf(variant: (typeof VARIANTS)[number], features: number, hidden: number[]): LayerConfig[] {
  const first = { units: hidden[0], inputShape: [features] as [number], kernelRegularizer: variant.regularizer };
  if (!variant.norm) {
    return [dense({ ...first, activation: variant.hidden }), dense({ units: hidden[1], activation: 'tanh' }), dense({ units: CLASSES, activation: 'softmax' })];
  }
  return [
    dense(first), batchNormalization(), activation({ activation: variant.hidden }),
    dense({ units: hidden[1], activation: 'tanh' }), batchNormalization(),
    dense({ units: CLASSES, activation: 'softmax' }),
  ];
}

interface Setup {
  name: string;
  backend: BackendName;
  threads: number;
  features: number;
  hidden: number[];
}

/**
 * Each backend on one thread; and the wasm backend on two, with a network wide enough that its
 * first GEMM, its weight gradient and its Adam update are cut into parts (src/backend/threads/).
 */
const SETUPS: Setup[] = [
  ...BACKEND_NAMES.map((backend) => ({ name: `${backend} backend`, backend, threads: 1, features: FEATURES, hidden: HIDDEN })),
  ...(BACKEND_NAMES.includes('wasm')
    ? [{ name: 'wasm backend on 2 threads, GEMMs and update in parts', backend: 'wasm' as const, threads: 2, features: 128, hidden: [128, 64] }]
    : []),
];

describe.each(SETUPS)('$name', ({ backend, threads, features, hidden }) => {
  it.each(VARIANTS)(`$name: keeps backend memory and the JS heap flat over ${ROUNDS} × ${STEPS} training steps`, async (variant) => {
    const gc = collector();
    const rng = mulberry32(11);
    const rows = STEPS * BATCH;
    const x = { data: uniform(rng, rows * features), shape: [rows, features] as [number, number] };
    const y = Array.from({ length: rows }, () => Math.floor(rng() * CLASSES));
    const model = await sequential({
      layers: layersOf(variant, features, hidden),
      backend,
      threads,
      seed: 3,
    });
    expect(model.threads).toBe(threads);
    model.compile({ loss: 'categoricalCrossentropy', optimizer: variant.optimizer, metrics: ['accuracy'] });
    const memoryBytes = (): number => model.backend.f32.buffer.byteLength;

    // The first epoch lays out (and grows) memory and gets the step's code optimized.
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, seed: 1 });
    const planned = memoryBytes();
    gc();
    const retained = [heapBytes()];
    const perStep: number[] = [];

    let smallest = Infinity, largest = 0, steps = 0, windowStart = 0, current = 0;
    let yields = 0, windowYields = 0, windowSleeps = 0;
    const sleeps = (): number => (model.backend as { sleeps?: number }).sleeps ?? 0;
    const setImmediate = globalThis.setImmediate;
    globalThis.setImmediate = Object.assign((run: () => void) => {
      yields++;
      return setImmediate(run);
    }, setImmediate);
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
              const allowance = (yields - windowYields) * YIELD_ALLOWANCE + (sleeps() - windowSleeps) * SLEEP_ALLOWANCE;
              perStep.push((heapBytes() - windowStart - allowance) / (w.to - w.from));
              current++;
            }
            if (batch === WINDOWS[current]?.from) {
              gc();
              windowStart = heapBytes();
              windowYields = yields;
              windowSleeps = sleeps();
            }
          },
        },
      });
      gc();
      retained.push(heapBytes());
    }
    model.dispose();
    globalThis.setImmediate = setImmediate;

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
