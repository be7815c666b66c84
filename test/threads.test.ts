/**
 * Threads (src/backend/threads/): the option and what the model reports, the promise that every
 * thread count gives the same bits (kernel by kernel with every call cut into parts, and whole
 * fits on the default and the relaxed build, with more threads than this machine has cores), the
 * life cycle (threads stopped by dispose, no threads or memory left behind, a process that exits
 * by itself), and a worker that dies: the call rejects naming the cause, nothing hangs, and fit
 * leaves the weights as they were before the step.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACTIVATION, AUTO_MIN_PARAMS, AUTO_THREADS_CAP, createThreadedBackend, createWasmBackend, type Backend, type Ptr,
} from '../src/backend/index.js';
import { threadTuning } from '../src/backend/threads/create.js';
import {
  dense, dropout, fromTfjs, loadModel, sequential, SimdnetError, type LayerConfig, type OptimizerConfig, type OptimizerName, type Sequential,
} from '../src/index.js';
import { enableRelaxedSimd } from '../src/node.js';
import { GEMM_TILES } from './support/gemm-tiles.js';
import { mulberry32, uniform } from './prng.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Every call cut into as many parts as there are threads, however small. */
const SPLIT_ALL = { gemm: 1, rows: 1, update: 1, gather: 1, scan: 1 };

function resetTuning(): void {
  for (const key of Object.keys(threadTuning)) delete (threadTuning as Record<string, unknown>)[key];
}
afterEach(resetTuning);

/** V8's collector, as test/alloc.test.ts gets it. */
function collector(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global) return global;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** OS threads of this process (Linux). */
function osThreads(): number {
  return readdirSync('/proc/self/task').length;
}

async function settle(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(uniform(mulberry32(seed), n, lo, hi));
}

/** The float32 bits of a: a Uint32Array is taken as bits already (converting its integers to floats would round them). */
function bits(a: ArrayLike<number>): Uint32Array {
  if (a instanceof Uint32Array) return a;
  return new Uint32Array(Float32Array.from(a).buffer);
}

/**
 * Where two results first differ, or undefined when they are the same bits: float32 arrays (bit
 * for bit), numbers (Object.is), and arrays and objects of them. Compared this way rather than with toEqual, whose diff of
 * two long arrays that differ takes minutes.
 */
function difference(a: unknown, b: unknown, at = ''): string | undefined {
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    const x = bits(a as ArrayLike<number>), y = bits(b as ArrayLike<number>);
    if (x.length !== y.length) return `${at}: lengths ${x.length} and ${y.length}`;
    const i = x.findIndex((v, j) => v !== y[j]);
    return i < 0 ? undefined : `${at}[${i}]: ${new Float32Array(x.buffer)[i]} and ${new Float32Array(y.buffer)[i]}`;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) {
      const d = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${at}: ${String(a)} and ${String(b)}`;
}

describe('the threads option', () => {
  const layers = [dense({ units: 4, activation: 'relu', inputShape: [3] }), dense({ units: 1, activation: 'sigmoid' })];

  it("defaults to 'auto' in Node: the cores available, with no reason given", async () => {
    // 128·128 + 128 weights and biases: just above AUTO_MIN_PARAMS.
    const model = await sequential({ layers: [dense({ units: 128, inputShape: [128] })] });
    expect(model.threads).toBe(Math.min(availableParallelism(), AUTO_THREADS_CAP));
    expect(model.threadsReason).toBeUndefined();
    model.dispose();
    expect(model.threads).toBe(0);
  });

  it("'auto' keeps a model below AUTO_MIN_PARAMS on one thread and says why; a number still gets threads", async () => {
    expect(AUTO_MIN_PARAMS).toBeGreaterThan(128 * 127 + 127);
    const small = await sequential({ layers: [dense({ units: 127, inputShape: [128] })] });
    expect(small.threads).toBe(1);
    if (availableParallelism() > 1) {
      expect(small.threadsReason).toMatch(/^'auto' runs models under 16,384 parameters on one thread \(this one has 16,383\): their kernel calls/);
    }
    const tiny = await sequential({ layers, threads: 2 });
    expect(tiny.threads).toBe(2);
    small.dispose();
    tiny.dispose();
  });

  it('takes a number; 1 is the one-thread backend, more than the cores is allowed', async () => {
    const one = await sequential({ layers, threads: 1 });
    expect(one.threads).toBe(1);
    expect(one.threadsReason).toBeUndefined();
    const four = await sequential({ layers, threads: 4 });
    expect(four.threads).toBe(4);
    one.dispose();
    four.dispose();
  });

  it('gives the reason when fewer threads run than asked', async () => {
    const js = await sequential({ layers, backend: 'js', threads: 2 });
    expect(js.threads).toBe(1);
    expect(js.threadsReason).toMatch(/'js' backend runs on one thread/);
  });

  it('refuses anything but a whole number from 1 to 64 or auto, naming the option', async () => {
    for (const bad of [0, 1.5, -2, 65, 'max', true]) {
      const err = await sequential({ layers, threads: bad as number }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SimdnetError);
      expect((err as SimdnetError).argument).toBe('threads');
    }
  });

  it('is taken by loadModel and fromTfjs', async () => {
    const model = await sequential({ layers, threads: 1 });
    const loaded = await loadModel(model.save(), { threads: 3 });
    expect(loaded.threads).toBe(3);
    const { modelJson, weightsBin } = model.toTfjs();
    const imported = await fromTfjs(modelJson, weightsBin, { threads: 2 });
    expect(imported.threads).toBe(2);
    await expect(loadModel(model.save(), { threads: 0 })).rejects.toThrow(/threads must be 'auto' or a whole number/);
    for (const m of [model, loaded, imported]) m.dispose();
  });
});

describe('every kernel cut into parts gives the bits of one thread', () => {
  const { MR, NR, KC, DIRECT_B_ROWS } = GEMM_TILES;
  const SIZES = [1, 2, 3, MR + 1, NR - 1, NR + 1, DIRECT_B_ROWS + 1, 2 * NR + 1, 70];

  async function pair(threads: number, relaxed: boolean): Promise<[Backend, Backend]> {
    const one = await createWasmBackend({ relaxed });
    const many = await createThreadedBackend({ relaxed, threads, thresholds: SPLIT_ALL });
    if ('reason' in many) throw new Error(many.reason);
    return [one, many];
  }

  /** Runs `call` on both backends over the same inputs; returns the output of each. */
  function both(backends: Backend[], inputs: Float32Array[], outFloats: number, call: (b: Backend, p: Ptr[], out: Ptr) => void): Uint32Array[] {
    return backends.map((b) => {
      const top = b.mark();
      const ptrs = inputs.map((data) => {
        const p = b.alloc(data.length);
        b.f32.set(data, p >> 2);
        return p;
      });
      const out = b.alloc(outFloats);
      b.f32.set(random(outFloats, 99), out >> 2);
      call(b, ptrs, out);
      const result = new Uint32Array(b.f32.slice(out >> 2, (out >> 2) + outFloats).buffer);
      b.release(top);
      return result;
    });
  }

  it.each([[2, false], [3, false], [4, true]])('GEMM, %i threads (relaxed: %s)', async (threads, relaxed) => {
    if (relaxed) expect(enableRelaxedSimd()).toBe(true);
    const backends = await pair(threads, relaxed);
    for (const m of SIZES) {
      for (const n of SIZES) {
        for (const k of [1, 7, KC + 1]) {
          const a = random(m * k, m * 31 + n), b = random(k * n, n * 17 + k), p = random(m * n, 5, 0.05, 0.95);
          for (const accumulate of [false, true]) {
            const [x, y] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.gemmNN(m, n, k, pa, pb, out, accumulate));
            expect(difference(y, x), `gemmNN ${m}×${n}×${k}`).toBeUndefined();
            const [x2, y2] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.gemmTN(m, n, k, pa, pb, out, accumulate));
            expect(difference(y2, x2), `gemmTN ${m}×${n}×${k}`).toBeUndefined();
            const [x3, y3] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.gemmNT(m, n, k, pa, pb, out, accumulate));
            expect(difference(y3, x3), `gemmNT ${m}×${n}×${k}`).toBeUndefined();
          }
          for (const act of [ACTIVATION.linear, ACTIVATION.tanh, ACTIVATION.leakyRelu, ACTIVATION.softmax]) {
            const [x, y] = both(backends, [a, b, p], m * n, (be, [pa, pb, pp], out) => be.gemmNTBackward(act, m, n, k, pa, pb, pp, out, 0.1));
            expect(difference(y, x), `gemmNTBackward(${act}) ${m}×${n}×${k}`).toBeUndefined();
          }
        }
      }
    }
    for (const b of backends) b.dispose();
  });

  it('activations, gathers, sparse products and optimizers, 3 threads', async () => {
    const backends = await pair(3, false);
    for (const [m, n] of [[1, 1], [5, 3], [17, 10], [64, 33]]) {
      const x = random(m * n, m + n, -4, 4), bias = random(n, 3), d = random(m * n, 4);
      for (const act of Object.values(ACTIVATION)) {
        const [a1, b1] = both(backends, [x], m * n, (be, [px], out) => be.activation(act, px, out, m, n, 0.2));
        expect(difference(b1, a1), `activation ${act} ${m}×${n}`).toBeUndefined();
        const [a2, b2] = both(backends, [x, bias], m * n, (be, [px, pb], out) => be.biasActivation(act, px, pb, out, m, n, 0.2));
        expect(difference(b2, a2), `biasActivation ${act}`).toBeUndefined();
        const [a3, b3] = both(backends, [x, d], m * n, (be, [px, pd], out) => be.activationBackward(act, px, pd, out, m, n, 0.2));
        expect(difference(b3, a3), `activationBackward ${act}`).toBeUndefined();
      }
      const order = new Float32Array(Int32Array.from({ length: m }, (_, i) => (i * 7) % m).buffer);
      const [g1, g2] = both(backends, [x, order], m * n, (be, [px, pi], out) => be.gatherRows(px, pi, m, n, out));
      expect(difference(g2, g1)).toBeUndefined();
    }
    for (const [m, n, k] of [[5, 40, 300], [70, 33, 784], [64, 128, 100]]) {
      // Sparse products (assembly/sparse.ts): about a fifth of A nonzero, as in MNIST digits.
      const a = random(m * k, m + k).map((v) => (v > 0.6 ? v : 0)), b = random(k * n, n);
      const [s1, s2] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.sparseGemmNN(m, n, k, pa, pb, out, false));
      expect(difference(s2, s1), `sparseGemmNN ${m}×${n}×${k}`).toBeUndefined();
      const [t1, t2] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.sparseGemmTN(m, n, k, pa, pb, out, true));
      expect(difference(t2, t1), `sparseGemmTN ${m}×${n}×${k}`).toBeUndefined();
    }
    for (const n of [4, 12, 400, 4096]) {
      const w = random(n, 1), g = random(n, 2), mo = random(n, 3), v = random(n, 4, 0, 1);
      const run = (be: Backend, p: Ptr[], out: Ptr, which: string): void => {
        be.copy(p[0], out, n);
        if (which === 'sgd') be.sgd(out, p[1], n, 0.1, 0.01);
        else if (which === 'momentum') be.momentum(out, p[1], p[2], n, 0.1, 0.9, 3, 0.01);
        else be.adam(out, p[1], p[2], p[3], n, 0.001, 0.9, 0.999, 1e-7, 5, 0.01);
      };
      for (const which of ['sgd', 'momentum', 'adam']) {
        const [u1, u2] = both(backends, [w, g, mo, v], n, (be, p, out) => run(be, p, out, which));
        expect(difference(u2, u1), `${which} n=${n}`).toBeUndefined();
      }
    }
    for (const b of backends) b.dispose();
  });

  it('sparse products keep their bits while their cut moves from call to call (nonzeros bunched at the top)', async () => {
    for (const threads of [2, 3]) {
      const backends = await pair(threads, false);
      const [m, n, k] = [96, 40, 200];
      // Rows of A with many nonzeros first, few last: part 0 has the most work, so its share moves.
      const a = random(m * k, 17).map((v, i) => (v > (Math.floor(i / k) < m / 3 ? -0.6 : 0.8) ? v : 0));
      const b = random(k * n, 18);
      const aT = random(k * m, 19).map((v, i) => (v > (i % m < m / 3 ? -0.6 : 0.8) ? v : 0));
      for (let call = 0; call < 60; call++) {
        const [s1, s2] = both(backends, [a, b], m * n, (be, [pa, pb], out) => be.sparseGemmNN(m, n, k, pa, pb, out, false));
        expect(difference(s2, s1), `sparseGemmNN, ${threads} threads, call ${call}`).toBeUndefined();
        const [t1, t2] = both(backends, [aT, b], m * n, (be, [pa, pb], out) => be.sparseGemmTN(m, n, k, pa, pb, out, false));
        expect(difference(t2, t1), `sparseGemmTN, ${threads} threads, call ${call}`).toBeUndefined();
      }
      for (const be of backends) be.dispose();
    }
  });

  it('copies and finiteness checks, 3 threads, with a NaN or an infinity in any part', async () => {
    const backends = await pair(3, false);
    for (const n of [1, 5, 9, 100, 4097]) {
      const x = random(n, n);
      const [c1, c2] = both(backends, [x], n, (be, [px], out) => be.copy(px, out, n));
      expect(difference(c2, c1), `copy n=${n}`).toBeUndefined();
      expect(Array.from(c2)).toEqual(Array.from(bits(x)));
      for (const at of [-1, 0, Math.floor(n / 2), n - 1]) {
        const data = x.slice();
        if (at >= 0) data[at] = at % 2 === 0 ? Number.NaN : -Infinity;
        const found = backends.map((be) => {
          const p = be.alloc(n);
          be.f32.set(data, p >> 2);
          return be.allFinite(p, n);
        });
        expect(found, `allFinite n=${n}, non-finite at ${at}`).toEqual(at < 0 ? [1, 1] : [0, 0]);
      }
    }
    for (const b of backends) b.dispose();
  });
});

describe('overlap: a task on the calling thread while the workers start on the next split call', () => {
  it('runs the task once, by settle(), beside a call that keeps its bits; an error it throws comes after the call', async () => {
    const one = await createWasmBackend({ relaxed: false });
    const many = await createThreadedBackend({ relaxed: false, threads: 3, thresholds: SPLIT_ALL });
    if ('reason' in many) throw new Error(many.reason);
    const m = 40, n = 24, k = 33;
    const a = random(m * k, 1), b = random(k * n, 2);
    const product = (be: Backend, task?: () => void): Uint32Array => {
      const top = be.mark();
      const [pa, pb, pc] = [be.alloc(m * k), be.alloc(k * n), be.alloc(m * n)];
      be.f32.set(a, pa >> 2);
      be.f32.set(b, pb >> 2);
      if (task) be.overlap(task);
      try {
        be.gemmNN(m, n, k, pa, pb, pc, false);
      } finally {
        be.settle();
      }
      const out = new Uint32Array(be.f32.slice(pc >> 2, (pc >> 2) + m * n).buffer);
      be.release(top);
      return out;
    };
    const expected = product(one);
    let runs = 0;
    expect(difference(product(many, () => { runs += 1; }), expected)).toBeUndefined();
    expect(runs).toBe(1);
    // A call too small to split runs the task first, before its kernel.
    const top = many.mark();
    const one1 = many.alloc(4);
    many.overlap(() => { runs += 1; });
    many.gemmNN(1, 1, 1, one1, one1, one1 + 4, false);
    expect(runs).toBe(2);
    many.settle();
    expect(runs).toBe(2);
    many.release(top);
    // On one thread the task runs at once.
    one.overlap(() => { runs += 1; });
    expect(runs).toBe(3);
    const failing = new Error('task failed');
    expect(() => product(many, () => { throw failing; })).toThrow(failing);
    expect(difference(product(many), expected)).toBeUndefined();
    expect(many.threads).toBe(3);
    many.dispose();
  });

  it('predict and evaluate stream their rows in beside the first product: the bits of one thread, a NaN in the last batch refused naming x', async () => {
    const rows = 1000;
    const x = random(rows * 784, 41, 0, 1).map((v) => (v > 0.8 ? v : 0));
    const labels = Array.from({ length: rows }, (_, i) => (i * 7) % 10);
    const xs = { data: x, shape: [rows, 784] as [number, number] };
    const models: Sequential[] = [];
    for (const threads of [1, 2, 3]) {
      const model = await sequential({ layers: [dense({ units: 48, activation: 'relu', inputShape: [784] }), dense({ units: 10, activation: 'softmax' })], threads, seed: 4 });
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      models.push(model);
    }
    const reference = models[0];
    const expected = reference.predict(xs, { batchSize: 96 }).data;
    const evaluation = reference.evaluate(xs, labels, { batchSize: 96 });
    for (const model of models.slice(1)) {
      expect(difference(model.predict(xs, { batchSize: 96 }).data, expected)).toBeUndefined();
      expect(model.inputDensity).toBe(reference.inputDensity);
      expect(model.evaluate(xs, labels, { batchSize: 96 })).toEqual(evaluation);
    }
    const bad = x.slice();
    bad[bad.length - 3] = Number.NaN;
    const badXs = { data: bad, shape: [rows, 784] as [number, number] };
    for (const model of models) {
      const density = model.inputDensity;
      expect(() => model.predict(badXs, { batchSize: 96 })).toThrow(/predict\(\): x /);
      expect(() => model.evaluate(badXs, labels, { batchSize: 96 })).toThrow(/evaluate\(\): x /);
      expect(model.inputDensity).toBe(density);
      expect(difference(model.predict(xs, { batchSize: 96 }).data, expected)).toBeUndefined();
      expect(model.evaluate(xs, labels, { batchSize: 96 })).toEqual(evaluation);
      model.dispose();
    }
  });
});

describe('a whole fit gives the same bits on 1, 2, 3 and 4 threads', () => {
  const ROWS = 640;
  const dense784 = random(ROWS * 784, 11, 0, 1);
  // About a fifth nonzero, as MNIST digits: the first layer runs on the sparse kernels.
  const sparse784 = dense784.map((v) => (v > 0.8 ? v : 0));
  const labels = Array.from({ length: ROWS }, (_, i) => (i * 7 + (i >> 3)) % 10);

  /** The plain network, or one with the Keras features that add kernels: swish and gelu keep Z, dropout, a regularizer. */
  function layers(keras: boolean): LayerConfig[] {
    if (!keras) {
      return [dense({ units: 128, activation: 'relu', inputShape: [784] }), dense({ units: 64, activation: 'tanh' }), dense({ units: 10, activation: 'softmax' })];
    }
    return [
      // No dropout after swish: its backward product is the fused one, cut into parts.
      dense({ units: 128, activation: 'swish', inputShape: [784], kernelRegularizer: { l1: 1e-5, l2: 1e-4 } }),
      dense({ units: 64, activation: 'gelu' }),
      dropout({ rate: 0.2 }),
      dense({ units: 10, activation: 'softmax' }),
    ];
  }

  async function train(
    threads: number, relaxed: boolean, batchSize: number, optimizer: OptimizerConfig | OptimizerName, x: Float32Array, keras = false,
  ): Promise<unknown> {
    const model = await sequential({ threads, relaxedSimd: relaxed, seed: 3, layers: layers(keras) });
    expect(model.threads).toBe(threads);
    model.compile({ loss: 'categoricalCrossentropy', optimizer, metrics: ['accuracy'] });
    const history = await model.fit({ data: x, shape: [ROWS, 784] }, labels, { epochs: 2, batchSize, validationSplit: 0.2, seed: 5 });
    expect(model.inputDensity < 0.35).toBe(x === sparse784);
    const result = {
      history: history.history,
      weights: model.getWeights(),
      predictions: model.predict({ data: x.subarray(0, 300 * 784), shape: [300, 784] }).data,
      evaluation: model.evaluate({ data: x, shape: [ROWS, 784] }, labels),
    };
    model.dispose();
    return result;
  }

  it.each([[false, 64, 'adam', 'sparse'], [false, 256, 'momentum', 'dense'], [true, 64, 'adam', 'dense']] as const)(
    'relaxed build: %s, batch %i, %s, %s inputs: weights, losses, metrics and predictions',
    async (relaxed, batchSize, optimizer, inputs) => {
      if (relaxed) expect(enableRelaxedSimd()).toBe(true);
      const x = inputs === 'sparse' ? sparse784 : dense784;
      const one = await train(1, relaxed, batchSize, optimizer, x) as { history: { loss: number[] } };
      expect(one.history.loss[1]).toBeLessThan(one.history.loss[0]);
      for (const threads of [2, 3, 4]) {
        expect(difference(await train(threads, relaxed, batchSize, optimizer, x), one), `${threads} threads`).toBeUndefined();
      }
    },
  );

  it('swish, gelu, dropout, a kernel regularizer, rmsprop with a cosine schedule and clipNorm, batch 64', async () => {
    const optimizer: OptimizerConfig = {
      type: 'rmsprop', momentum: 0.5, centered: true, clipNorm: 1, learningRate: { type: 'cosineDecay', initialLearningRate: 0.002, decaySteps: 20 },
    };
    const one = await train(1, false, 64, optimizer, dense784, true) as { history: { loss: number[] } };
    expect(one.history.loss[1]).toBeLessThan(one.history.loss[0]);
    for (const threads of [2, 4]) {
      expect(difference(await train(threads, false, 64, optimizer, dense784, true), one), `${threads} threads`).toBeUndefined();
    }
  });
});

describe('life cycle', () => {
  const layers = [dense({ units: 64, activation: 'relu', inputShape: [256] }), dense({ units: 10, activation: 'softmax' })];
  const x = random(512 * 256, 21);
  const y = Array.from({ length: 512 }, (_, i) => i % 10);

  /** One model's life; returns a weak reference to its backend, which holds its memory. */
  async function cycle(): Promise<WeakRef<object>> {
    const model = await sequential({ layers, threads: 2 });
    model.compile({ loss: 'categoricalCrossentropy' });
    await model.fit({ data: x, shape: [512, 256] }, y, { epochs: 1, batchSize: 128 });
    const backend = new WeakRef(model.backend);
    model.dispose();
    return backend;
  }

  it('dispose stops the threads; 100 create/fit/dispose cycles leave no threads and no memory behind', async () => {
    await cycle();
    await settle(() => false, 300);
    const threadsBefore = osThreads();
    const model = await sequential({ layers, threads: 3 });
    expect(osThreads()).toBeGreaterThanOrEqual(threadsBefore + 3); // the supervisor and two workers
    model.dispose();
    await settle(() => osThreads() <= threadsBefore);
    expect(osThreads()).toBeLessThanOrEqual(threadsBefore);
    const backends: WeakRef<object>[] = [];
    for (let i = 0; i < 100; i++) backends.push(await cycle());
    await settle(() => osThreads() <= threadsBefore);
    expect(osThreads()).toBeLessThanOrEqual(threadsBefore);
    // Nothing keeps a disposed model's backend, and with it its memory (each about 2 MB), alive.
    const gc = collector();
    await settle(() => {
      gc();
      return backends.every((b) => b.deref() === undefined);
    });
    expect(backends.filter((b) => b.deref() !== undefined)).toHaveLength(0);
  }, 300_000);

  it('a process whose threaded model is disposed, or still alive with nothing to do, exits by itself', async () => {
    const script = (dispose: boolean): string => `
      import { sequential } from ${JSON.stringify(`${repo}src/index.ts`)};
      const model = await sequential({ threads: 2, layers: [{ units: 32, activation: 'relu', inputShape: [64] }, { units: 1, activation: 'sigmoid' }] });
      model.compile({ loss: 'binaryCrossentropy' });
      await model.fit({ data: new Float32Array(256 * 64).fill(0.5), shape: [256, 64] }, new Float32Array(256).fill(1), { epochs: 2 });
      ${dispose ? 'model.dispose();' : ''}
      console.log('threads', model.threads);
    `;
    for (const dispose of [true, false]) {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(dispose)], { cwd: repo, timeout: 60_000 },
          (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
      });
      expect(out.trim()).toBe(dispose ? 'threads 0' : 'threads 2');
    }
  }, 120_000);
});

describe('a worker that dies', () => {
  const layers = [dense({ units: 128, activation: 'relu', inputShape: [784] }), dense({ units: 10, activation: 'softmax' })];
  const ROWS = 512;
  const x = random(ROWS * 784, 31, 0, 1);
  const y = Array.from({ length: ROWS }, (_, i) => i % 10);
  const xs = { data: x, shape: [ROWS, 784] as [number, number] };

  async function build(threads: number): Promise<Sequential> {
    const model = await sequential({ layers, threads, seed: 9 });
    model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
    return model;
  }

  it('in the middle of an update: fit rejects naming the cause, with the weights of the steps before', async () => {
    Object.assign(threadTuning, { failAt: 0, fault: 'throw', faultKernel: 'adam' });
    const model = await build(2);
    resetTuning();
    let steps = 0;
    const err = await model.fit(xs, y, { epochs: 20, batchSize: 64, seed: 1, callbacks: { onBatchEnd: () => { steps += 1; } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimdnetError);
    expect((err as Error).message).toMatch(/worker thread 1 stopped: .*failing on purpose/);
    expect(model.threads).toBe(1);
    expect(model.threadsReason).toMatch(/failing on purpose/);
    // The same steps on one thread, stopped by a callback after as many batches (none: the
    // worker stopped in the first update).
    const reference = await build(1);
    let done = 0;
    if (steps > 0) {
      await reference.fit(xs, y, {
        epochs: 20, batchSize: 64, seed: 1,
        callbacks: { onBatchEnd: () => { if (++done === steps) throw new Error('stop'); } },
      }).catch(() => undefined);
    }
    expect(difference(model.getWeights(), reference.getWeights())).toBeUndefined();
    // The model goes on, on one thread.
    await model.fit(xs, y, { epochs: 1 });
    model.dispose();
    reference.dispose();
  }, 120_000);

  it('out of memory during predict: predict throws naming the cause, and works again on one thread', async () => {
    Object.assign(threadTuning, { failAt: 0, fault: 'oom' });
    const model = await build(2);
    resetTuning();
    const expected = (await build(1)).predict(xs).data;
    let err: unknown;
    for (let i = 0; i < 200 && err === undefined; i++) {
      try {
        model.predict(xs);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(SimdnetError);
    expect((err as Error).message).toMatch(/worker thread 1 stopped: .*memory/i);
    expect(model.threads).toBe(1);
    expect(difference(model.predict(xs).data, expected)).toBeUndefined();
    model.dispose();
  }, 120_000);
});
