/**
 * Subnormal floats (0 < |x| < 2^-126) never stay in a model's memory: the optimizers store their
 * state (m, v), and with l2 > 0 the weights, flushed to zero (assembly/optimizers.ts says why), on
 * every backend alike.
 *
 * First the flush itself, on values placed around the threshold: with g = 0 and β = 0.5 every update
 * halves the state exactly, so the stored floats are known to the bit. Then whole runs known to
 * underflow: a model trains on four features, then on the same rows with one feature set to 0. That
 * feature's weights then get gradients of exactly 0, and their state decays by β every step (with
 * l2, the weights by 1 − lr·l2) far below 2^-126; without the flush it would stay there, as
 * subnormals that rounding cannot take further down (0.9 × 4·2^-149 rounds back to 4·2^-149).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type Backend } from '../src/backend/index.js';
import { dense, sequential, type OptimizerConfig, type Sequential } from '../src/index.js';
import { decodeModel } from '../src/io/snet.js';
import { enableRelaxedSimd } from '../src/node.js';
import { BACKEND_NAMES, makeBackend, read, scoped, upload } from './backends.js';

const MIN_NORMAL = 2 ** -126;
const TINY = 3 * 2 ** -149; // a subnormal

/** Subnormal floats among `values`, by bit pattern (either sign). */
function countSubnormals(values: Float32Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let count = 0;
  for (const b of bits) {
    const magnitude = b & 0x7fffffff;
    if (magnitude !== 0 && magnitude < 0x00800000) count++;
  }
  return count;
}

/** The float32 bit patterns of `values`, NaN as 'NaN' (its sign and payload may vary by engine). */
const bitsOf = (values: ArrayLike<number>): Array<number | 'NaN'> =>
  Array.from(new Uint32Array(Float32Array.from(values).buffer), (b, i) => (Number.isNaN(values[i]) ? 'NaN' : b));

// The kernels under test: each backend of BACKEND_NAMES, plus the relaxed-SIMD build with wasm.
type Flavour = 'js' | 'wasm' | 'wasm-relaxed';
const FLAVOURS: Flavour[] = [...BACKEND_NAMES, ...(BACKEND_NAMES.includes('wasm') ? ['wasm-relaxed' as const] : [])];

async function kernels(flavour: Flavour): Promise<Backend> {
  if (flavour !== 'wasm-relaxed') return makeBackend(flavour);
  expect(enableRelaxedSimd()).toBe(true);
  return createWasmBackend({ relaxed: true });
}

// State before the step and the float stored after it, with g = 0 and β = 0.5: the exact half,
// flushed. Nine values, so that the last one goes through the kernels' scalar tail.
const STATE_IN = [2 ** -125, MIN_NORMAL, -(2 ** -125), TINY, -0, NaN, 1, -MIN_NORMAL, 2 ** -125];
const STATE_OUT = [MIN_NORMAL, 0, -MIN_NORMAL, 0, 0, NaN, 0.5, 0, MIN_NORMAL];
// v ≥ 0: the same without the negative values.
const V_IN = STATE_IN.map(Math.abs);
const V_OUT = STATE_OUT.map(Math.abs);

describe.each(FLAVOURS)('the optimizers flush on %s', (flavour) => {
  let b: Backend;
  beforeAll(async () => { b = await kernels(flavour); });

  /** One step from the given state with g = 0; returns w, m and v after it. */
  function step(
    kind: 'sgd' | 'momentum' | 'adam', w0: number[], m0: number[], v0: number[], l2: number, sgdLr = 1,
  ): { w: Float32Array; m: Float32Array; v: Float32Array } {
    const n = w0.length;
    return scoped(b, () => {
      const w = upload(b, w0), g = b.alloc(n), m = upload(b, m0), v = upload(b, v0);
      if (kind === 'sgd') b.sgd(w, g, n, sgdLr, l2);
      else if (kind === 'momentum') b.momentum(w, g, m, n, 0.1, 0.5, 3, l2);
      else b.adam(w, g, m, v, n, 0.1, 0.5, 0.5, 1e-7, 3, l2);
      return { w: read(b, w, n), m: read(b, m, n), v: read(b, v, n) };
    });
  }

  const ones = STATE_IN.map(() => 1);

  it('momentum stores m below 2^-126 as +0, keeps normal values, NaN and the sign of the rest', () => {
    expect(bitsOf(step('momentum', ones, STATE_IN, ones, 0).m)).toEqual(bitsOf(STATE_OUT));
  });

  it('adam stores m and v below 2^-126 as +0', () => {
    const { m, v } = step('adam', ones, STATE_IN, V_IN, 0);
    expect(bitsOf(m)).toEqual(bitsOf(STATE_OUT));
    expect(bitsOf(v)).toEqual(bitsOf(V_OUT));
  });

  it('with l2 > 0, sgd, momentum and adam store w below 2^-126/l2 as +0', () => {
    // sgd with lr 0.5, l2 1 and g = 0 halves w exactly; the floor is 2^-126.
    expect(bitsOf(step('sgd', STATE_IN, ones, ones, 1, 0.5).w)).toEqual(bitsOf(STATE_OUT));
    // With lr 2 and l2 0.25 it halves w too, and the floor is 2^-124: l2·w is subnormal below it.
    const w0 = [2 ** -121, 2 ** -122, -(2 ** -122), 2 ** -123, 3 * 2 ** -125, 2 ** -124, 1];
    expect(bitsOf(step('sgd', w0, [], [], 0.25, 2).w)).toEqual(bitsOf([2 ** -122, 2 ** -123, -(2 ** -123), 2 ** -124, 0, 0, 0.5]));
    // momentum and adam from a zero state: m = (1 − β)·l2·w, a tiny step for a tiny w.
    const zeros = STATE_IN.map(() => 0);
    const tinyW = [TINY, -TINY, MIN_NORMAL / 2, 1, TINY, TINY, TINY, TINY, TINY];
    for (const kind of ['momentum', 'adam'] as const) {
      const { w } = step(kind, tinyW, zeros, zeros, 0.01);
      expect(countSubnormals(w), kind).toBe(0);
      expect(w[3], kind).toBeGreaterThan(0.5);
    }
  });

  it('sgd without l2 leaves w as it is', () => {
    const w0 = [TINY, 1, 2, 3, 4];
    expect(bitsOf(step('sgd', w0, [], [], 0).w)).toEqual(bitsOf(w0));
  });
});

// Four features, labels from the first two; 64 rows. The second phase sets feature 3 to 0.
const ROWS = 64;
function dataset(withFeature3: boolean): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(ROWS * 4);
  const y = new Float32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    const a = Math.sin(r * 1.7), c = Math.cos(r * 0.9);
    x.set([a, c, (r % 5) / 5 - 0.4, withFeature3 ? 0.5 + Math.sin(r * 2.3) : 0], r * 4);
    y[r] = a + c > 0 ? 1 : 0;
  }
  return { x, y };
}

const RUNS: Array<{ name: string; optimizer: OptimizerConfig }> = [
  // β2 = 0.9 so that v, not only m, decays far enough within the run.
  { name: 'adam', optimizer: { type: 'adam', learningRate: 0.01, beta2: 0.9 } },
  { name: 'momentum', optimizer: { type: 'momentum', learningRate: 0.05 } },
  { name: 'sgd with l2', optimizer: { type: 'sgd', learningRate: 0.5, l2: 0.5 } },
];

describe.each(FLAVOURS)('after a run that underflows, on %s', (flavour) => {
  const build = (): Promise<Sequential> => sequential({
    layers: [dense({ units: 8, activation: 'relu', inputShape: [4] }), dense({ units: 1, activation: 'sigmoid' })],
    backend: flavour === 'js' ? 'js' : 'wasm',
    relaxedSimd: flavour === 'wasm-relaxed',
    seed: 3,
  });
  beforeAll(() => {
    if (flavour === 'wasm-relaxed') expect(enableRelaxedSimd()).toBe(true);
  });

  it.each(RUNS)('$name: no subnormal float in the saved weights and state, the gradients or the outputs', async ({ optimizer }) => {
    const model = await build();
    model.compile({ loss: 'binaryCrossentropy', optimizer });
    const before = dataset(true), after = dataset(false);
    await model.fit({ data: before.x, shape: [ROWS, 4] }, before.y, { epochs: 20, batchSize: 16, seed: 1 });
    await model.fit({ data: after.x, shape: [ROWS, 4] }, after.y, { epochs: 300, batchSize: 16, seed: 2 });

    const file = decodeModel('test', model.save());
    expect(countSubnormals(file.params), 'weights').toBe(0);
    expect(countSubnormals(file.state), 'optimizer state').toBe(0);
    // The gradients of a step from here, and the outputs.
    const xs = { data: after.x, shape: [ROWS, 4] as [number, number] };
    for (const [i, g] of model._computeGradients(xs, after.y).grads.entries()) expect(countSubnormals(g), `gradient ${i}`).toBe(0);
    expect(countSubnormals(model.predict(xs).data), 'outputs').toBe(0);

    // The run did underflow: the state of feature 3's weights (row 3 of W1) decayed all the way to 0.
    const count = file.params.length;
    const row3 = (slot: number): number[] => Array.from(file.state.subarray(slot * count + 24, slot * count + 32));
    for (let slot = 0; slot < file.stateSlots; slot++) expect(row3(slot)).toEqual(new Array(8).fill(0));
    if ('l2' in optimizer && optimizer.l2) expect(Array.from(file.params.subarray(24, 32))).toEqual(new Array(8).fill(0));
  });
});
