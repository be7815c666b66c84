/**
 * GEMM, the three products backprop needs: A·B (forward), Aᵀ·B (dW) and A·Bᵀ (dA), square and at
 * the 784-128 layer's shapes for a batch of 128. Each result is checked against float64 dot
 * products (all of C when small, a spread of entries when large) before it is timed.
 */
import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { Backend } from '../src/backend/index.js';
import { mulberry32, uniform } from '../test/prng.js';
import { kernelBackends, read, upload, type Contenders } from './contenders.js';
import type { CaseSpec, Entry } from './harness.js';
import type { Peer } from './peers.js';

export type GemmOp = 'gemmNN' | 'gemmTN' | 'gemmNT';

export interface GemmShape {
  op: GemmOp;
  m: number;
  n: number;
  k: number;
  name: string;
}

const U32 = 2 ** -24;
const LABEL: Record<GemmOp, string> = { gemmNN: 'A·B', gemmTN: 'Aᵀ·B', gemmNT: 'A·Bᵀ' };

export function gemmShapes(sizes: number[]): GemmShape[] {
  const shapes: GemmShape[] = [];
  for (const op of ['gemmNN', 'gemmTN', 'gemmNT'] as const) {
    for (const s of sizes) shapes.push({ op, m: s, n: s, k: s, name: `${LABEL[op]} n=${s}` });
  }
  // X[128×784]·W1, dW1 = Xᵀ·dZ1, dZ1·W1ᵀ: as stored, [128×784]·[784×128], [128×784]ᵀ·[128×128], [128×128]·[784×128]ᵀ.
  shapes.push({ op: 'gemmNN', m: 128, n: 128, k: 784, name: 'A·B [128×784]·[784×128]' });
  shapes.push({ op: 'gemmTN', m: 784, n: 128, k: 128, name: 'Aᵀ·B [128×784]ᵀ·[128×128]' });
  shapes.push({ op: 'gemmNT', m: 128, n: 784, k: 128, name: 'A·Bᵀ [128×128]·[784×128]ᵀ' });
  return shapes;
}

/** A and B as stored: NN A [m×k] B [k×n]; TN A [k×m] B [k×n]; NT A [m×k] B [n×k]. */
function storedShapes({ op, m, n, k }: GemmShape): { a: [number, number]; b: [number, number] } {
  return {
    a: op === 'gemmTN' ? [k, m] : [m, k],
    b: op === 'gemmNT' ? [n, k] : [k, n],
  };
}

/**
 * Compares C with float64 dot products, within (k + 2)·u·Σ|terms| per entry (the float32 rounding
 * bound, doubled for FMA and blocked sums). Large products are sampled: a wrong index shows up
 * in any entry, and the sample always includes the corners where tails live.
 */
function checkGemm(shape: GemmShape, a: Float32Array, b: Float32Array, c: ArrayLike<number>): string | undefined {
  const { op, m, n, k } = shape;
  const at = (i: number, p: number): number => (op === 'gemmTN' ? a[p * m + i] : a[i * k + p]);
  const bt = (p: number, j: number): number => (op === 'gemmNT' ? b[j * k + p] : b[p * n + j]);
  const all = m * n * k <= 1 << 25;
  const count = all ? m * n : 4096;
  for (let s = 0; s < count; s++) {
    let i: number, j: number;
    if (all) {
      i = Math.floor(s / n);
      j = s % n;
    } else if (s < 4) {
      i = s & 1 ? m - 1 : 0;
      j = s & 2 ? n - 1 : 0;
    } else {
      i = (s * 7919) % m;
      j = (s * 104729 + (s >> 5)) % n;
    }
    let sum = 0, abs = 0;
    for (let p = 0; p < k; p++) {
      const t = at(i, p) * bt(p, j);
      sum += t;
      abs += Math.abs(t);
    }
    const got = c[i * n + j];
    const tol = 2 * (k + 2) * U32 * abs;
    if (!(Math.abs(got - sum) <= tol)) return `C[${i},${j}] = ${got}, want ${sum} ± ${tol.toExponential(2)}`;
  }
  return undefined;
}

function backendEntry(impl: string, be: Backend, shape: GemmShape, a: Float32Array, b: Float32Array): Entry {
  const { op, m, n, k } = shape;
  let mark = 0, pa = 0, pb = 0, pc = 0;
  return {
    impl,
    setup() {
      mark = be.mark();
      pa = upload(be, a);
      pb = upload(be, b);
      pc = be.alloc(m * n);
    },
    check() {
      be[op](m, n, k, pa, pb, pc, false);
      return checkGemm(shape, a, b, read(be, pc, m * n));
    },
    run: () => be[op](m, n, k, pa, pb, pc, false),
    teardown() {
      be.release(mark);
    },
  };
}

function peerEntry(peer: Peer, shape: GemmShape, a: Float32Array, b: Float32Array): Entry {
  const { tf } = peer;
  const stored = storedShapes(shape);
  const transA = shape.op === 'gemmTN', transB = shape.op === 'gemmNT';
  let ta: Tensor2D | undefined, tb: Tensor2D | undefined;
  return {
    impl: peer.impl,
    async setup() {
      await peer.use();
      ta = tf.tensor2d(a, stored.a);
      tb = tf.tensor2d(b, stored.b);
    },
    check() {
      const c = tf.matMul(ta!, tb!, transA, transB);
      const data = c.dataSync();
      c.dispose();
      return checkGemm(shape, a, b, data);
    },
    // The cpu and wasm backends compute eagerly, inside matMul: no read-back is needed to time it.
    run: () => tf.matMul(ta!, tb!, transA, transB).dispose(),
    teardown() {
      ta?.dispose();
      tb?.dispose();
    },
  };
}

export function gemmCases(c: Contenders, sizes: number[]): CaseSpec[] {
  return gemmShapes(sizes).map((shape, index) => {
    const rng = mulberry32(1000 + index);
    const { a: sa, b: sb } = storedShapes(shape);
    const a = uniform(rng, sa[0] * sa[1]);
    const b = uniform(rng, sb[0] * sb[1]);
    const entries = [
      ...kernelBackends(c).map(([impl, be]) => backendEntry(impl, be, shape, a, b)),
      ...c.peers.map((peer) => peerEntry(peer, shape, a, b)),
    ];
    return { group: 'gemm', name: shape.name, unit: 'GFLOP/s', work: 2 * shape.m * shape.n * shape.k, entries };
  });
}
