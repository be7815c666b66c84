/**
 * The optimizer updates over n parameters, in place: SGD, momentum with bias correction, Adam.
 * Checked over two steps from a fresh state against the float64 reference, then timed; the step
 * count t does not change the cost, so timing repeats a later step.
 */
import type { Backend } from '../src/backend/index.js';
import { mulberry32, uniform } from '../test/prng.js';
import * as ref from '../test/reference.js';
import { kernelBackends, read, upload, type Contenders } from './contenders.js';
import { compare, type CaseSpec, type Entry } from './harness.js';
import { sizeLabel } from './elementwise.js';

type Kind = 'sgd' | 'momentum' | 'adam';

const LR = { sgd: 0.01, momentum: 0.01, adam: 0.001 };
const BETA = 0.9, BETA1 = 0.9, BETA2 = 0.999, EPSILON = 1e-7;
/** Bytes per parameter: each array read, and each updated array written back. */
const BYTES: Record<Kind, number> = { sgd: 12, momentum: 20, adam: 28 };
const TIMED_STEP = 10;

function step(be: Backend, kind: Kind, w: number, g: number, m: number, v: number, n: number, t: number): void {
  if (kind === 'sgd') be.sgd(w, g, n, LR.sgd, 0);
  else if (kind === 'momentum') be.momentum(w, g, m, n, LR.momentum, BETA, t, 0);
  else be.adam(w, g, m, v, n, LR.adam, BETA1, BETA2, EPSILON, t, 0);
}

function reference(kind: Kind, w0: Float32Array, g: Float32Array): Float64Array {
  const grads = [g, g];
  if (kind === 'sgd') return ref.sgdSteps(w0, grads, LR.sgd)[1];
  if (kind === 'momentum') return ref.momentumSteps(w0, grads, LR.momentum, BETA)[1];
  return ref.adamSteps(w0, grads, LR.adam, BETA1, BETA2, EPSILON)[1];
}

function optimizerEntries(c: Contenders, kind: Kind, n: number): Entry[] {
  let data: { w0: Float32Array; g: Float32Array } | undefined;
  const inputs = (): { w0: Float32Array; g: Float32Array } => {
    if (data === undefined) {
      const rng = mulberry32(n + kind.length);
      data = { w0: uniform(rng, n), g: uniform(rng, n) };
    }
    return data;
  };
  return kernelBackends(c).map(([impl, be]) => {
    let mark = 0, w = 0, g = 0, m = 0, v = 0;
    return {
      impl,
      setup() {
        mark = be.mark();
        w = upload(be, inputs().w0);
        g = upload(be, inputs().g);
        m = be.alloc(n); // zero-filled: a fresh optimizer's state
        v = be.alloc(n);
      },
      check() {
        step(be, kind, w, g, m, v, n, 1);
        step(be, kind, w, g, m, v, n, 2);
        // As the kernel tests: relative, plus an absolute term for the updates' own rounding.
        return compare(read(be, w, n), reference(kind, inputs().w0, inputs().g), 1e-5, 1e-5 * LR[kind] * 2);
      },
      run: () => step(be, kind, w, g, m, v, n, TIMED_STEP),
      teardown() {
        be.release(mark);
      },
    };
  });
}

export function* optimizerCases(c: Contenders, sizes: number[]): Generator<CaseSpec> {
  for (const n of sizes) {
    for (const kind of ['sgd', 'momentum', 'adam'] as const) {
      yield {
        group: 'optimizers', name: `${kind} ${sizeLabel(n)}`, unit: 'G elements/s', work: n, bytes: BYTES[kind] * n,
        entries: optimizerEntries(c, kind, n),
      };
    }
  }
}
