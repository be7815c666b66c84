/**
 * The memory-bound kernels of a layer: activations forward and backward, bias add and column sums,
 * over 1K to 10M elements (in L1, in L2, out of cache). Rows are 100 wide (10 for softmax, the
 * MNIST output). Reported in elements/s and GB/s (bytes read + written per element, below).
 */
import { ACTIVATION, type ActivationName, type Backend } from '../src/backend/index.js';
import { mulberry32, uniform } from '../test/prng.js';
import * as ref from '../test/reference.js';
import { kernelBackends, read, upload, type Contenders } from './contenders.js';
import { compare, type CaseSpec, type Entry } from './harness.js';

const U32 = 2 ** -24;
const ACTIVATIONS: ActivationName[] = ['sigmoid', 'tanh', 'relu', 'softmax'];

export function sizeLabel(n: number): string {
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}K`;
  return String(n);
}

/** Inputs built on first use and dropped with the case, so 10M-element arrays do not pile up. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

interface Kernel {
  /** Allocates and fills the kernel's buffers on be; returns the call and a reader of its output. */
  prepare(be: Backend): { run(): void; output(): Float32Array };
  /** Compares the output of one call on fresh inputs with the float64 reference. */
  verify(out: Float32Array): string | undefined;
}

function entries(c: Contenders, kernel: Kernel): Entry[] {
  return kernelBackends(c).map(([impl, be]) => {
    let mark = 0;
    let prepared: ReturnType<Kernel['prepare']> | undefined;
    return {
      impl,
      setup() {
        mark = be.mark();
        prepared = kernel.prepare(be);
      },
      check() {
        prepared!.run();
        return kernel.verify(prepared!.output());
      },
      run: () => prepared!.run(),
      teardown() {
        prepared = undefined;
        be.release(mark);
      },
    };
  });
}

function activationForward(act: ActivationName, size: number): Kernel {
  const n = act === 'softmax' ? 10 : 100, m = size / n, code = ACTIVATION[act];
  const x = lazy(() => uniform(mulberry32(size + code), size, -4, 4));
  return {
    prepare(be) {
      const px = upload(be, x()), py = be.alloc(size);
      return { run: () => be.activation(code, px, py, m, n, 0), output: () => read(be, py, size) };
    },
    verify: (out) => compare(out, ref.activation(act, x(), m, n), 1e-5, 1e-7),
  };
}

function activationBackward(act: ActivationName, size: number): Kernel {
  const n = act === 'softmax' ? 10 : 100, m = size / n, code = ACTIVATION[act];
  const inputs = lazy(() => {
    const rng = mulberry32(size + 10 + code);
    const a = Float32Array.from(ref.activation(act, uniform(rng, size, -4, 4), m, n));
    return { a, dA: uniform(rng, size) };
  });
  return {
    prepare(be) {
      const { a, dA } = inputs();
      const pa = upload(be, a), pd = upload(be, dA), pz = be.alloc(size);
      return { run: () => be.activationBackward(code, pa, pd, pz, m, n, 0), output: () => read(be, pz, size) };
    },
    verify(out) {
      const { a, dA } = inputs();
      // softmax's row dot product adds n roundings, scaled by a.
      const atol = act === 'softmax' ? (n + 2) * U32 : 1e-7;
      return compare(out, ref.activationBackwardFromA(act, a, dA, m, n), 1e-5, atol);
    },
  };
}

function biasAdd(size: number): Kernel {
  const n = 100, m = size / n;
  const inputs = lazy(() => {
    const rng = mulberry32(size + 20);
    return { x: uniform(rng, size), bias: uniform(rng, n) };
  });
  return {
    prepare(be) {
      const { x, bias } = inputs();
      const px = upload(be, x), pb = upload(be, bias);
      // In place, as in training; repeated calls keep adding the bias, which costs the same.
      return { run: () => be.biasAdd(px, pb, m, n), output: () => read(be, px, size) };
    },
    verify: (out) => compare(out, ref.biasAdd(inputs().x, inputs().bias, m, n), 0, 2 * U32 * 2),
  };
}

function colSum(size: number): Kernel {
  const n = 100, m = size / n;
  const x = lazy(() => uniform(mulberry32(size + 30), size));
  return {
    prepare(be) {
      const px = upload(be, x()), po = be.alloc(n);
      return { run: () => be.colSum(px, m, n, po, false), output: () => read(be, po, n) };
    },
    verify(out) {
      const want = ref.colSum(x(), m, n);
      const absSum = ref.colSum(x().map(Math.abs), m, n);
      for (let j = 0; j < n; j++) {
        const tol = (m + 2) * U32 * absSum[j];
        if (!(Math.abs(out[j] - want[j]) <= tol)) return `column ${j}: got ${out[j]}, want ${want[j]} ± ${tol}`;
      }
      return undefined;
    },
  };
}

export function* elementwiseCases(c: Contenders, sizes: number[]): Generator<CaseSpec> {
  for (const size of sizes) {
    const label = sizeLabel(size);
    const unit = 'G elements/s' as const;
    for (const act of ACTIVATIONS) {
      yield { group: 'elementwise', name: `${act} forward ${label}`, unit, work: size, bytes: 8 * size, entries: entries(c, activationForward(act, size)) };
      yield { group: 'elementwise', name: `${act} backward ${label}`, unit, work: size, bytes: 12 * size, entries: entries(c, activationBackward(act, size)) };
    }
    yield { group: 'elementwise', name: `bias add ${label}`, unit, work: size, bytes: 8 * size, entries: entries(c, biasAdd(size)) };
    yield { group: 'elementwise', name: `column sums ${label}`, unit, work: size, bytes: 4 * size, entries: entries(c, colSum(size)) };
  }
}
