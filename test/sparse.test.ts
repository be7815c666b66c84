/**
 * The sparse-input kernels (sparseGemmNN, sparseGemmTN) against the dense ones, bit for bit, on every
 * backend and on the relaxed-SIMD build: they leave out the terms whose element of A is exactly ±0,
 * which must change no bit of C when B is finite (docs/ARCHITECTURE.md, 'Sparse inputs'). Random
 * inputs at densities 0%, 1%, 19% (MNIST's), 50% and 100%, on shapes across the dense GEMM's tile and
 * k-slab edges (test/support/gemm-tiles.ts), with and without accumulate. Then countNonzeroFinite, and the
 * model's switch: a model trained with sparseInputs 'auto' ends with the same weights as one with
 * false, and predicts the same bits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, wasmRelaxedSimdSupported, type Backend } from '../src/backend/index.js';
import { dense, sequential, SimdnetError, SPARSE_MAX_DENSITY, type Sequential } from '../src/index.js';
import { enableRelaxedSimd } from '../src/node.js';
import { BACKEND_NAMES, makeBackend, read, scoped, upload } from './backends.js';
import { mulberry32, oneHot, uniform } from './prng.js';
import { GEMM_TILES } from './support/gemm-tiles.js';

const { MR, NR, KC, DIRECT_B_ROWS } = GEMM_TILES;
const DENSITIES = [0, 0.01, 0.19, 0.5, 1];

// [m, n, k]: n across the sparse kernels' strips (32, 16, 4 columns and a 1–3 column tail) and the
// dense tiles (NR), one column (the dense matrix-vector path), k within one slab, on KC and across
// slabs, m on MR and around DIRECT_B_ROWS, and the MNIST first layer at batch 64.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 2, 5], [MR, NR, KC], [MR + 1, NR + 1, KC + 1], [5, 3, 4], [7, 33, 17], [4, 49, 9],
  [DIRECT_B_ROWS, 35, KC - 1], [DIRECT_B_ROWS + 1, 70, 2 * KC + 3], [19, 1, 301], [2, 1, 9],
  [33, 67, 130], [64, 128, 784], [130, 20, 600], [9, 263, 256],
];

/** n floats of which a share `density` (on average) is uniform in [−1, 1), the rest 0 (a few −0). */
function sparseValues(rng: () => number, n: number, density: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (rng() < density) out[i] = 2 * rng() - 1;
    else if (rng() < 0.05) out[i] = -0;
  }
  return out;
}

type Variant = 'NN' | 'TN';

/** C after the dense and after the sparse kernel, from the same A, B and initial C. */
function bothWays(b: Backend, v: Variant, m: number, n: number, k: number, density: number, accumulate: boolean, seed: number): [Float32Array, Float32Array] {
  const rng = mulberry32(seed);
  const a = sparseValues(rng, m * k, density); // [m×k] for NN, stored [k×m] for TN
  const bv = uniform(rng, k * n);
  const c0 = uniform(rng, m * n, -2, 2);
  return scoped(b, () => {
    const ap = upload(b, a), bp = upload(b, bv);
    const dense = upload(b, c0), sparse = upload(b, c0);
    if (v === 'NN') {
      b.gemmNN(m, n, k, ap, bp, dense, accumulate);
      b.sparseGemmNN(m, n, k, ap, bp, sparse, accumulate);
    } else {
      b.gemmTN(m, n, k, ap, bp, dense, accumulate);
      b.sparseGemmTN(m, n, k, ap, bp, sparse, accumulate);
    }
    return [read(b, dense, m * n), read(b, sparse, m * n)];
  });
}

/** The index of the first element whose bits differ, or −1. */
function firstDifference(x: Float32Array, y: Float32Array): number {
  const bx = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const by = new Uint32Array(y.buffer, y.byteOffset, y.length);
  return bx.findIndex((bits, i) => bits !== by[i]);
}

function sameBitsOnEveryShape(get: () => Backend, v: Variant): void {
  for (const [m, n, k] of SHAPES) {
    for (const density of DENSITIES) {
      for (const accumulate of [false, true]) {
        const [want, got] = bothWays(get(), v, m, n, k, density, accumulate, 7919 * m + 31 * n + k + Math.round(density * 100));
        const at = firstDifference(want, got);
        expect(at, `${v} ${m}×${n}×${k} density ${density} accumulate=${accumulate}: element ${at} is ${got[at]}, dense ${want[at]}`).toBe(-1);
      }
    }
  }
}

const builds: Array<[string, () => Promise<Backend>]> = BACKEND_NAMES.map((name) => [name, () => makeBackend(name)]);
if (BACKEND_NAMES.includes('wasm')) {
  enableRelaxedSimd();
  if (wasmRelaxedSimdSupported()) builds.push(['wasm-relaxed', () => createWasmBackend({ relaxed: true })]);
}

describe.each(builds)('sparse kernels on %s', (_name, create) => {
  let b: Backend;
  beforeAll(async () => { b = await create(); });

  it.each<Variant>(['NN', 'TN'])('sparseGemm%s gives the dense kernel\'s bits on every shape and density', (v) => {
    sameBitsOnEveryShape(() => b, v);
  });

  it.each<Variant>(['NN', 'TN'])('sparseGemm%s on products that underflow: the same bits, or on js and FMA only the sign of a zero', (v) => {
    // |a·b| below 1e-44, a few float32 subnormals: partial sums that round to ±0 (docs/ARCHITECTURE.md, 'Sparse inputs').
    const [m, n, k] = [9, 37, 300];
    const rng = mulberry32(77);
    const a = sparseValues(rng, m * k, 0.3).map((x) => x * 1e-22);
    const bv = uniform(rng, k * n).map((x) => x * 1e-22);
    const [want, got] = scoped(b, () => {
      const ap = upload(b, a), bp = upload(b, bv), dense = b.alloc(m * n), sparse = b.alloc(m * n);
      if (v === 'NN') {
        b.gemmNN(m, n, k, ap, bp, dense, false);
        b.sparseGemmNN(m, n, k, ap, bp, sparse, false);
      } else {
        b.gemmTN(m, n, k, ap, bp, dense, false);
        b.sparseGemmTN(m, n, k, ap, bp, sparse, false);
      }
      return [read(b, dense, m * n), read(b, sparse, m * n)];
    });
    expect(want.some((x) => x === 0) && want.some((x) => x !== 0), 'the case mixes zero and nonzero results').toBe(true);
    if (b.name === 'wasm' && !b.relaxed) expect(firstDifference(want, got)).toBe(-1);
    else got.forEach((x, i) => expect(x === want[i], `element ${i}: ${x} and ${want[i]}`).toBe(true));
  });

  it.each<Variant>(['NN', 'TN'])('sparseGemm%s keeps a NaN of A (it is not a zero)', (v) => {
    const [m, n, k] = [3, 20, 9];
    const a = new Float32Array(m * k);
    a[4] = NaN;
    const got = scoped(b, () => {
      const c = b.alloc(m * n);
      const ap = upload(b, a), bp = upload(b, new Float32Array(k * n).fill(1));
      if (v === 'NN') b.sparseGemmNN(m, n, k, ap, bp, c, false);
      else b.sparseGemmTN(m, n, k, ap, bp, c, false);
      return read(b, c, m * n);
    });
    // NN: a[4] is row 0, p = 4; TN: A is stored [k×m], a[4] is p = 1, column 1.
    const nanRow = v === 'NN' ? 0 : 1;
    got.forEach((value, i) => expect(Number.isNaN(value), `element ${i}`).toBe(Math.floor(i / n) === nanRow));
  });

  it('countNonzeroFinite counts everything but ±0 over vector bodies and tails, or gives −1 for a NaN or ±Infinity anywhere', () => {
    const rng = mulberry32(6);
    for (const n of [0, 1, 3, 4, 7, 8, 9, 31, 1000]) {
      const x = sparseValues(rng, n, 0.3);
      const want = Array.from(x).filter((value) => value !== 0).length;
      expect(scoped(b, () => b.countNonzeroFinite(upload(b, x), n)), `n=${n}`).toBe(want);
      for (const at of n > 0 ? [0, n >> 1, n - 1] : []) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const y = x.slice();
          y[at] = bad;
          expect(scoped(b, () => b.countNonzeroFinite(upload(b, y), n)), `n=${n}, ${bad} at ${at}`).toBe(-1);
        }
      }
    }
  });
});

// --- The model's switch -------------------------------------------------------------------------

/** Rows that look like images or one-hot data: about a fifth of the inputs nonzero. */
function sparseData(rows: number, inputs: number, classes: number): { x: Float32Array; y: Float32Array } {
  const rng = mulberry32(11);
  return { x: sparseValues(rng, rows * inputs, 0.2).map(Math.abs), y: oneHot(rng, rows, classes) };
}

async function model(backend: 'js' | 'wasm', sparseInputs: 'auto' | false): Promise<Sequential> {
  const m = await sequential({
    layers: [dense({ units: 40, activation: 'relu', inputShape: [50] }), dense({ units: 3, activation: 'softmax' })],
    backend, seed: 3, sparseInputs,
  });
  m.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return m;
}

describe.each(BACKEND_NAMES)('sparseInputs on a %s model', (backend) => {
  it("'auto' trains, evaluates and predicts the same bits as false, and reports the density", async () => {
    const { x, y } = sparseData(300, 50, 3);
    const xs = { data: x, shape: [300, 50] as [number, number] };
    const ys = { data: y, shape: [300, 3] as [number, number] };
    const [on, off] = [await model(backend, 'auto'), await model(backend, false)];
    expect(on.summary()).toMatch(/Sparse inputs: auto \(.*no inputs seen yet\)/);
    const histories = [];
    for (const m of [on, off]) histories.push(await m.fit(xs, ys, { epochs: 2, batchSize: 32, validationSplit: 0.2, seed: 1 }));
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc'] as const) expect(histories[0].history[key], key).toEqual(histories[1].history[key]);
    on.getWeights().forEach((w, i) => expect(firstDifference(w, off.getWeights()[i]), `weights ${i}`).toBe(-1));
    expect(on.evaluate(xs, ys)).toEqual(off.evaluate(xs, ys));
    expect(firstDifference(on.predict(xs).data, off.predict(xs).data)).toBe(-1);
    expect(on.inputDensity).toBeGreaterThan(0.15);
    expect(on.inputDensity).toBeLessThan(SPARSE_MAX_DENSITY);
    expect(on.summary()).toMatch(/Sparse inputs: auto; last inputs \d+\.\d% nonzero, so the first layer skips the zeros/);
    expect(off.summary()).toMatch(/Sparse inputs: off/);
    on.dispose();
    off.dispose();
  });

  it('the density is counted over every row, and a NaN in the last of many chunks is refused naming x', async () => {
    const m = await model(backend, 'auto');
    const rows = 1001; // 50,050 inputs: the upload checks and counts them in several chunks
    const x = sparseData(rows, 50, 3).x;
    const want = Array.from(x).filter((value) => value !== 0).length / x.length;
    const before = m.predict({ data: x.subarray(0, 50), shape: [1, 50] }).data;
    m.predict({ data: x, shape: [rows, 50] });
    expect(m.inputDensity).toBe(want);
    x[x.length - 1] = NaN;
    expect(() => m.predict({ data: x, shape: [rows, 50] })).toThrow(/predict\(\): x /);
    expect(Array.from(m.predict({ data: x.subarray(0, 50), shape: [1, 50] }).data)).toEqual(Array.from(before));
    m.dispose();
  });

  it("'auto' keeps dense inputs on the dense kernels, and the switch can be set between calls", async () => {
    const m = await model(backend, 'auto');
    const x = uniform(mulberry32(2), 20 * 50);
    m.predict({ data: x, shape: [20, 50] });
    expect(m.inputDensity).toBe(1);
    expect(m.summary()).toMatch(/100\.0% nonzero \(sparse at ≤ 35%\), so the first layer is dense/);
    m.sparseInputs = false;
    expect(m.sparseInputs).toBe(false);
    expect(() => { m.sparseInputs = 'yes' as unknown as false; }).toThrow(SimdnetError);
    m.dispose();
  });
});

describe('sparseInputs option', () => {
  it("is 'auto' or false", async () => {
    const layers = [dense({ units: 2, inputShape: [3] })];
    await expect(sequential({ layers, sparseInputs: true as unknown as false })).rejects.toThrow(/sparseInputs must be 'auto' or false, got true/);
    expect((await sequential({ layers })).sparseInputs).toBe('auto');
  });
});
