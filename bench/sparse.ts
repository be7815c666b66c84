/**
 * The sparse first layer (docs/ARCHITECTURE.md, 'Sparse inputs'), each case with the sparse path
 * on and off in the same run:
 *
 * - kernels: the first layer's two products, Z = X·W and dW = Xᵀ·dZ, on the dense GEMM and on the
 *   sparse kernels, for MNIST digits (19% nonzero) and random inputs at the threshold density and at
 *   50%; and a hidden layer's products at 50%, the density of ReLU outputs. Figures in GFLOP/s of
 *   the dense products (2·m·n·k each), so the sparse figure is the speed as the user sees it;
 * - training: an epoch of the 784-128-64-10 network with Adam at batch 64 on MNIST digits, the same
 *   on uniform random inputs (dense: the density check must cost nothing), and a one-hot tabular
 *   set (20 categorical columns of 10 levels and 10 numeric ones) at batch 64;
 * - predict of 2,000 MNIST digits.
 *
 * 'wasm' and 'js' are the defaults (sparseInputs 'auto'), 'wasm-sparse-off' is the wasm backend with
 * sparseInputs: false. Every check demands the same bits from both paths: the losses of a seeded
 * epoch, the predictions, the products.
 */
import { dense, sequential, SPARSE_MAX_DENSITY, type Sequential } from '../src/index.js';
import type { Backend } from '../src/backend/index.js';
import { mulberry32, oneHot, uniform } from '../test/prng.js';
import { read, upload, type Contenders } from './contenders.js';
import type { CaseSpec, Entry } from './harness.js';
import type { Digits } from './training.js';

const PIXELS = 784;
const FIT_SEED = 7;

interface Rows {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  inputs: number;
  outputs: number;
}

type Layers = Parameters<typeof sequential>[0]['layers'];

const IMPLS = {
  js: { backend: 'js', sparseInputs: 'auto' },
  wasm: { backend: 'wasm', sparseInputs: 'auto' },
  'wasm-sparse-off': { backend: 'wasm', sparseInputs: false },
} as const;
type Impl = keyof typeof IMPLS;

function mnistLayers(): Layers {
  return [
    dense({ units: 128, activation: 'relu', inputShape: [PIXELS] }),
    dense({ units: 64, activation: 'relu' }),
    dense({ units: 10, activation: 'softmax' }),
  ];
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * One epoch per run. The check trains one epoch from the seeded start: the loss must fall, the
 * wasm runs with the sparse path on and off must end at the same bits, and at js's loss within
 * float rounding.
 */
function trainingCase(name: string, data: Rows, layers: () => Layers, loss: 'categoricalCrossentropy', batchSize: number): CaseSpec {
  const xm = { data: data.x, shape: [data.rows, data.inputs] as [number, number] };
  const ym = { data: data.y, shape: [data.rows, data.outputs] as [number, number] };
  const fitOptions = { epochs: 1, batchSize, seed: FIT_SEED };
  const losses: Partial<Record<Impl, number>> = {};
  const entry = (impl: Impl): Entry => {
    let model: Sequential | undefined;
    return {
      impl,
      async setup() {
        model = await sequential({ layers: layers(), ...IMPLS[impl], seed: 1 });
        model.compile({ loss, optimizer: { type: 'adam', learningRate: 0.001 } });
      },
      async check() {
        const before = model!.evaluate(xm, ym).loss;
        const epochLoss = (await model!.fit(xm, ym, fitOptions)).history.loss[0];
        const after = model!.evaluate(xm, ym).loss;
        if (!(after < before)) return `loss did not fall in one epoch: ${before} → ${after}`;
        losses[impl] = epochLoss;
        if (impl === 'wasm-sparse-off' && losses.wasm !== undefined && !Object.is(epochLoss, losses.wasm)) {
          return `epoch loss ${epochLoss} with the sparse path off, ${losses.wasm} with it on: not the same bits`;
        }
        if (impl !== 'js' && losses.js !== undefined && !(Math.abs(epochLoss - losses.js) <= 1e-2 * losses.js)) {
          return `epoch loss ${epochLoss}, the JS backend's ${losses.js}`;
        }
        return undefined;
      },
      run: () => model!.fit(xm, ym, fitOptions),
      teardown() { model?.dispose(); },
    };
  };
  return {
    group: 'sparse', name, unit: 'samples/s', work: data.rows,
    entries: (['js', 'wasm', 'wasm-sparse-off'] as const).map(entry),
  };
}

/** predict over all rows (batch 256, the default); wasm with the sparse path on and off must give the same bits. */
function predictCase(name: string, data: Rows, layers: () => Layers): CaseSpec {
  const xm = { data: data.x, shape: [data.rows, data.inputs] as [number, number] };
  const outputs: Partial<Record<Impl, Float32Array>> = {};
  const entry = (impl: Impl): Entry => {
    let model: Sequential | undefined;
    return {
      impl,
      async setup() { model = await sequential({ layers: layers(), ...IMPLS[impl], seed: 1 }); },
      check() {
        const out = model!.predict(xm).data;
        outputs[impl] = out;
        if (impl === 'wasm-sparse-off' && outputs.wasm && !bitsEqual(out, outputs.wasm)) return 'predictions differ from the sparse path\'s bits';
        if (!out.every(Number.isFinite)) return 'non-finite predictions';
        return undefined;
      },
      run: () => model!.predict(xm),
      teardown() { model?.dispose(); },
    };
  };
  return {
    group: 'sparse', name, unit: 'samples/s', work: data.rows,
    entries: (['js', 'wasm', 'wasm-sparse-off'] as const).map(entry),
  };
}

/** Rows of `inputs` floats of which about `density` are uniform in (0, 1], the rest 0. */
function randomInputs(rows: number, inputs: number, density: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const x = new Float32Array(rows * inputs);
  for (let i = 0; i < x.length; i++) if (rng() < density) x[i] = 1 - rng();
  return x;
}

/**
 * A one-hot tabular set: 20 categorical columns of 10 levels (one-hot, 200 inputs) and 10 numeric
 * columns (standard normal-ish), 210 inputs of which 30 are nonzero (14%); two classes from a
 * fixed random score of the levels and numbers.
 */
export function tabularRows(rows: number): Rows {
  const rng = mulberry32(21);
  const inputs = 20 * 10 + 10;
  const levelScore = uniform(rng, 200);
  const numericScore = uniform(rng, 10);
  const x = new Float32Array(rows * inputs);
  const y = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    let score = 0;
    for (let c = 0; c < 20; c++) {
      const level = c * 10 + Math.floor(rng() * 10);
      x[r * inputs + level] = 1;
      score += levelScore[level];
    }
    for (let c = 0; c < 10; c++) {
      const v = rng() + rng() + rng() - 1.5;
      x[r * inputs + 200 + c] = v;
      score += numericScore[c] * v;
    }
    y[r * 2 + (score > 0 ? 1 : 0)] = 1;
  }
  return { x, y, rows, inputs, outputs: 2 };
}

interface KernelShape {
  name: string;
  /** Rows of X (the batch), inputs, outputs. */
  m: number;
  k: number;
  n: number;
  x: Float32Array;
}

/**
 * One run: Z = X·W and dW = Xᵀ·dZ, dense (js, wasm) or sparse (js-sparse, wasm-sparse). The check
 * runs both paths on the backend and demands the same bits.
 */
function kernelCase(shape: KernelShape, c: Contenders): CaseSpec {
  const { m, k, n, x } = shape;
  const rng = mulberry32(3);
  const w = uniform(rng, k * n), dz = uniform(rng, m * n);
  const entry = (impl: string, b: Backend, sparse: boolean): Entry => {
    let ptrs = { x: 0, w: 0, dz: 0, z: 0, dw: 0 };
    let mark = 0;
    const run = (): void => {
      if (sparse) {
        b.sparseGemmNN(m, n, k, ptrs.x, ptrs.w, ptrs.z, false);
        b.sparseGemmTN(k, n, m, ptrs.x, ptrs.dz, ptrs.dw, false);
      } else {
        b.gemmNN(m, n, k, ptrs.x, ptrs.w, ptrs.z, false);
        b.gemmTN(k, n, m, ptrs.x, ptrs.dz, ptrs.dw, false);
      }
    };
    return {
      impl,
      setup() {
        mark = b.mark();
        ptrs = { x: upload(b, x), w: upload(b, w), dz: upload(b, dz), z: b.alloc(m * n), dw: b.alloc(k * n) };
      },
      check() {
        b.gemmNN(m, n, k, ptrs.x, ptrs.w, ptrs.z, false);
        b.gemmTN(k, n, m, ptrs.x, ptrs.dz, ptrs.dw, false);
        const want = [read(b, ptrs.z, m * n), read(b, ptrs.dw, k * n)];
        b.fill(ptrs.z, m * n, NaN);
        b.fill(ptrs.dw, k * n, NaN);
        run();
        const got = [read(b, ptrs.z, m * n), read(b, ptrs.dw, k * n)];
        return bitsEqual(got[0], want[0]) && bitsEqual(got[1], want[1]) ? undefined : 'not the bits of the dense products';
      },
      run,
      teardown() { b.release(mark); },
    };
  };
  return {
    group: 'sparse',
    name: shape.name,
    unit: 'GFLOP/s',
    work: 2 * 2 * m * n * k,
    entries: [entry('js', c.js, false), entry('js-sparse', c.js, true), entry('wasm', c.wasm, false), entry('wasm-sparse', c.wasm, true)],
  };
}

export function sparseKernelCases(digits: Digits, c: Contenders): CaseSpec[] {
  const batch = 64;
  const threshold = Math.round(SPARSE_MAX_DENSITY * 100);
  const first = (name: string, x: Float32Array): KernelShape => ({ name: `784→128 ×${batch}, ${name}`, m: batch, k: PIXELS, n: 128, x });
  return [
    kernelCase(first('MNIST digits', digits.x.slice(0, batch * PIXELS)), c),
    kernelCase(first(`${threshold}% nonzero`, randomInputs(batch, PIXELS, SPARSE_MAX_DENSITY, 4)), c),
    kernelCase(first('50% nonzero', randomInputs(batch, PIXELS, 0.5, 5)), c),
    kernelCase({ name: `128→64 ×${batch}, 50% nonzero (ReLU outputs)`, m: batch, k: 128, n: 64, x: randomInputs(batch, 128, 0.5, 6) }, c),
  ];
}

export function sparseTrainingCases(digits: Digits, predictRows: number): CaseSpec[] {
  const mnist: Rows = { ...digits, inputs: PIXELS, outputs: 10 };
  const rng = mulberry32(8);
  const random: Rows = { x: uniform(rng, digits.rows * PIXELS, 0, 1), y: oneHot(rng, digits.rows, 10), rows: digits.rows, inputs: PIXELS, outputs: 10 };
  const tabular = tabularRows(digits.rows);
  const tabularLayers = (): Layers => [
    dense({ units: 128, activation: 'relu', inputShape: [tabular.inputs] }),
    dense({ units: 64, activation: 'relu' }),
    dense({ units: 2, activation: 'softmax' }),
  ];
  const predictDigits: Rows = { ...mnist, x: digits.x.subarray(0, predictRows * PIXELS), y: digits.y.subarray(0, predictRows * 10), rows: predictRows };
  return [
    trainingCase(`MNIST 784-128-64-10 Adam, ${digits.rows} samples, batch 64`, mnist, mnistLayers, 'categoricalCrossentropy', 64),
    predictCase(`predict ${predictRows} MNIST digits (784-128-64-10)`, predictDigits, mnistLayers),
    trainingCase(`uniform random inputs 784-128-64-10, ${digits.rows} samples, batch 64`, random, mnistLayers, 'categoricalCrossentropy', 64),
    trainingCase(`one-hot tabular 210-128-64-2 (20×10 levels + 10 numeric), ${tabular.rows} samples, batch 64`, tabular, tabularLayers, 'categoricalCrossentropy', 64),
  ];
}

/**
 * The sparse path's speed-up, interleaved: the harness times one implementation after the other, and
 * on a shared machine the load can change between them by more than the effect measured. Here each
 * round times the case once with the sparse path on and once off (in alternating order), and the
 * figure is the median of the rounds' ratios: wasm ÷ wasm-sparse-off, or wasm-sparse ÷ wasm.
 */
export async function interleavedSpeedups(specs: CaseSpec[], rounds: number): Promise<string[]> {
  const lines: string[] = [];
  for (const spec of specs) {
    const pair = spec.entries.filter((e) => e.impl === 'wasm-sparse' || e.impl === 'wasm' || e.impl === 'wasm-sparse-off');
    const [on, off] = pair[0].impl === 'wasm-sparse' || pair[1].impl === 'wasm-sparse' ? [pair[1], pair[0]] : [pair[0], pair[1]];
    for (const e of [on, off]) {
      await e.setup?.();
      await e.run(); // warm
    }
    // Short runs (kernels) repeat inside a round until it lasts about 20 ms.
    const t0 = performance.now();
    await on.run();
    const reps = Math.max(1, Math.ceil(20 / Math.max(performance.now() - t0, 1e-3)));
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const ms: Record<string, number> = {};
      for (const e of r % 2 === 0 ? [on, off] : [off, on]) {
        const start = performance.now();
        for (let i = 0; i < reps; i++) await e.run();
        ms[e.impl] = performance.now() - start;
      }
      ratios.push(ms[off.impl] / ms[on.impl]);
    }
    for (const e of [off, on]) await e.teardown?.(); // the reverse of setup: kernel entries release their marks
    ratios.sort((a, b) => a - b);
    const median = ratios[Math.floor(rounds / 2)];
    lines.push(`sparse path on vs off, interleaved (${rounds} rounds): ×${median.toFixed(2)} (×${ratios[0].toFixed(2)}–${ratios[rounds - 1].toFixed(2)})  ${spec.name}`);
  }
  return lines;
}
