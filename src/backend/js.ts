/**
 * The pure-JS backend: the kernel set of backend.ts as plain loops over a Float32Array.
 *
 * It is the baseline every benchmark compares against and the fallback where WebAssembly SIMD is
 * missing, so it is written the way a careful JS programmer would write it, and no cleverer: one
 * ArrayBuffer as "linear memory", typed-array views hoisted into locals once per kernel, i-k-j
 * loops with k unrolled by 4, no allocation inside a kernel. Intermediate arithmetic happens in
 * doubles (JS numbers) and is rounded to float32 on store.
 */
import { ACTIVATION, type ActivationCode, type Backend, type Ptr } from './backend.js';
import { ALIGN, alignUp, BumpAllocator } from './bump.js';
import * as norm from './js-batchnorm.js';
import * as updates from './js-updates.js';

const DEFAULT_INITIAL_BYTES = 1 << 20;
/**
 * 4 GiB, as wasm32: pointers are byte offsets turned into indices with `>>> 2` (unsigned 32-bit).
 * The engine allows more (V8: ArrayBuffers up to 2^53 − 1 bytes, typed arrays up to 2^32
 * elements), but one limit for both backends means a model that fits one fits the other.
 */
const MAX_BYTES = 2 ** 32;
/** Offset 0 is never handed out, so that a zero pointer is always a bug. */
const HEAP_BASE = ALIGN;

// eslint-disable-next-line max-lines-per-function -- a closure over the memory views, holding one function per kernel (each short)
export function createJsBackend(initialBytes: number = DEFAULT_INITIAL_BYTES, threadsReason?: string): Backend {
  let buffer = new ArrayBuffer(Math.max(alignUp(initialBytes), 2 * ALIGN));
  let f32 = new Float32Array(buffer);
  let i32 = new Int32Array(buffer);
  // Doubles that a kernel hands to its helpers, or a loss kernel to its caller: the per-row helpers
  // take only integers and read alpha here, and the loss kernels compute their value into a slot
  // that a tiny, inlinable wrapper reads (docs/ARCHITECTURE.md, 'Number boxing').
  const scalars = new Float64Array(2);
  const ALPHA = 0, LOSS = 1;

  // Grows like wasm memory does from the caller's point of view: old views go stale.
  const heap = new BumpAllocator({
    get byteLength() { return buffer.byteLength; },
    growTo(bytes: number): void {
      let size = buffer.byteLength;
      while (size < bytes) size = Math.min(2 * size, MAX_BYTES);
      const grown = new ArrayBuffer(size);
      new Uint8Array(grown).set(new Uint8Array(buffer));
      buffer = grown;
      f32 = new Float32Array(buffer);
      i32 = new Int32Array(buffer);
    },
    zero(from: number, to: number): void {
      f32.fill(0, from >>> 2, to >>> 2);
    },
  }, HEAP_BASE, MAX_BYTES, 'the js backend\'s 4 GiB');

  // --- GEMM. C[m×n] (=|+=) op(A)·op(B); C must not alias A or B.

  /**
   * C = op(A)·B in i-k-j order, four rows of B per pass over a row of C. Element (i, p) of op(A)
   * sits at A + i·rowStride + p·depthStride: (k, 1) for A [m×k], (1, m) for Aᵀ with A stored [k×m].
   * With skipZeros (the sparse kernels) a group of four terms whose elements of A are all ±0, or a
   * zero term of the tail, is left out: it would add ±0 to C (B finite), which changes no bit unless
   * C is −0 (docs/ARCHITECTURE.md, 'Sparse inputs'). Groups with a nonzero are computed whole, so
   * the sums round as the dense loop's do.
   */
  function gemmRowsKJ(
    m: number, n: number, k: number, a: Ptr, rowStride: number, depthStride: number,
    b: Ptr, c: Ptr, accumulate: boolean, skipZeros: boolean,
  ): void {
    const f = f32;
    const A = a >>> 2, B = b >>> 2, C = c >>> 2;
    const k4 = k - (k % 4);
    const s = depthStride;
    for (let i = 0; i < m; i++) {
      const ci = C + i * n;
      const ai = A + i * rowStride;
      if (!accumulate) f.fill(0, ci, ci + n);
      let p = 0;
      for (; p < k4; p += 4) {
        const ap = ai + p * s;
        const a0 = f[ap], a1 = f[ap + s], a2 = f[ap + 2 * s], a3 = f[ap + 3 * s];
        if (skipZeros && a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
        const b0 = B + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        for (let j = 0; j < n; j++) {
          f[ci + j] += a0 * f[b0 + j] + a1 * f[b1 + j] + a2 * f[b2 + j] + a3 * f[b3 + j];
        }
      }
      for (; p < k; p++) {
        const ap = f[ai + p * s];
        if (skipZeros && ap === 0) continue;
        const bp = B + p * n;
        for (let j = 0; j < n; j++) f[ci + j] += ap * f[bp + j];
      }
    }
  }

  /** A is [m×k], B is [k×n]. */
  function gemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    gemmRowsKJ(m, n, k, a, k, 1, b, c, accumulate, false);
  }

  /** Aᵀ·B with A stored [k×m], B [k×n]. */
  function gemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    gemmRowsKJ(m, n, k, a, 1, m, b, c, accumulate, false);
  }

  /** gemmNN skipping the zero groups of A (the sparse kernels of backend.ts). */
  function sparseGemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    gemmRowsKJ(m, n, k, a, k, 1, b, c, accumulate, true);
  }

  /** gemmTN skipping the zero groups of A. */
  function sparseGemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    gemmRowsKJ(m, n, k, a, 1, m, b, c, accumulate, true);
  }

  /**
   * A·Bᵀ with A [m×k], B stored [n×k]. Row i of A and row j of B are both contiguous, so the
   * natural loop is a dot product over k (unrolled by 4, four partial sums) per C[i,j]; i-k-j
   * order here would walk B with stride k.
   */
  function gemmNT(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const f = f32;
    const A = a >>> 2, B = b >>> 2, C = c >>> 2;
    const k4 = k - (k % 4);
    for (let i = 0; i < m; i++) {
      const ai = A + i * k;
      const ci = C + i * n;
      for (let j = 0; j < n; j++) {
        const bj = B + j * k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let p = 0;
        for (; p < k4; p += 4) {
          s0 += f[ai + p] * f[bj + p];
          s1 += f[ai + p + 1] * f[bj + p + 1];
          s2 += f[ai + p + 2] * f[bj + p + 2];
          s3 += f[ai + p + 3] * f[bj + p + 3];
        }
        for (; p < k; p++) s0 += f[ai + p] * f[bj + p];
        const dot = s0 + s1 + (s2 + s3);
        f[ci + j] = accumulate ? f[ci + j] + dot : dot;
      }
    }
  }

  /**
   * out = (dz·wᵀ) ⊙ g'(aPrev), one row at a time: the row's n dot products, then g' applied while the
   * row is in cache (softmax's row-wise Jacobian included, since it sees whole rows).
   */
  function gemmNTBackward(
    act: ActivationCode, m: number, n: number, k: number, dz: Ptr, w: Ptr, aPrev: Ptr, out: Ptr, alpha: number,
  ): void {
    scalars[ALPHA] = alpha;
    for (let i = 0; i < m; i++) {
      const row = out + 4 * i * n;
      gemmNT(1, n, k, dz + 4 * i * k, w, row, false);
      backwardRows(act, aPrev + 4 * i * n, row, row, 1, n);
    }
  }

  // --- Bias and reductions.

  /** x[i,j] += bias[j] over x [m×n]. */
  function biasAdd(x: Ptr, bias: Ptr, m: number, n: number): void {
    const f = f32;
    const X = x >>> 2, b = bias >>> 2;
    for (let i = 0; i < m; i++) {
      const xi = X + i * n;
      for (let j = 0; j < n; j++) f[xi + j] += f[b + j];
    }
  }

  /** out[j] (=|+=) Σ_i x[i,j] over x [m×n], summed row by row into out. */
  function colSum(x: Ptr, m: number, n: number, out: Ptr, accumulate: boolean): void {
    const f = f32;
    const X = x >>> 2, o = out >>> 2;
    if (!accumulate) f.fill(0, o, o + n);
    for (let i = 0; i < m; i++) {
      const xi = X + i * n;
      for (let j = 0; j < n; j++) f[o + j] += f[xi + j];
    }
  }

  // --- Activations.

  /** Applies g in place to the n floats at index `y` (one row, so softmax normalises it); alpha from scalars. */
  function activateRow(f: Float32Array, act: ActivationCode, y: number, n: number): void {
    const end = y + n;
    switch (act) {
      case ACTIVATION.linear:
        return;
      case ACTIVATION.sigmoid:
        for (let j = y; j < end; j++) f[j] = sigmoid(f[j]);
        return;
      case ACTIVATION.tanh:
        for (let j = y; j < end; j++) f[j] = Math.tanh(f[j]);
        return;
      case ACTIVATION.relu:
        // `v < 0 ? 0 : v` lets NaN through, so divergence stays visible to allFinite.
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v < 0 ? 0 : v; }
        return;
      case ACTIVATION.leakyRelu: {
        const alpha = scalars[ALPHA];
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v < 0 ? alpha * v : v; }
        return;
      }
      case ACTIVATION.elu:
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v > 0 ? v : Math.expm1(v); }
        return;
      case ACTIVATION.selu:
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v > 0 ? SELU_SCALE * v : SELU_SCALE_ALPHA * Math.expm1(v); }
        return;
      case ACTIVATION.softplus:
        for (let j = y; j < end; j++) f[j] = softplus(f[j]);
        return;
      case ACTIVATION.swish:
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v * sigmoid(v); }
        return;
      case ACTIVATION.gelu:
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v * normalCdf(v); }
        return;
      case ACTIVATION.relu6:
        // As relu: NaN passes.
        for (let j = y; j < end; j++) { const v = f[j]; f[j] = v < 0 ? 0 : v > 6 ? 6 : v; }
        return;
      case ACTIVATION.softmax: {
        let max = -Infinity;
        for (let j = y; j < end; j++) if (f[j] > max) max = f[j];
        let sum = 0;
        for (let j = y; j < end; j++) { const e = Math.exp(f[j] - max); f[j] = e; sum += e; }
        const inv = 1 / sum;
        for (let j = y; j < end; j++) f[j] *= inv;
        return;
      }
      default:
        throw new Error(`unknown activation code ${act as number}`);
    }
  }

  /** y = g(x) over [m×n]; y may alias x. */
  function activation(act: ActivationCode, x: Ptr, y: Ptr, m: number, n: number, alpha: number): void {
    const f = f32;
    const X = x >>> 2, Y = y >>> 2;
    if (X !== Y) f.copyWithin(Y, X, X + m * n);
    scalars[ALPHA] = alpha;
    for (let i = 0; i < m; i++) activateRow(f, act, Y + i * n, n);
  }

  /** y = g(x + bias) over [m×n], row by row (the row stays in cache for g); y may alias x. */
  function biasActivation(
    act: ActivationCode, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number,
  ): void {
    const f = f32;
    const X = x >>> 2, b = bias >>> 2, Y = y >>> 2;
    scalars[ALPHA] = alpha;
    for (let i = 0; i < m; i++) {
      const xi = X + i * n, yi = Y + i * n;
      for (let j = 0; j < n; j++) f[yi + j] = f[xi + j] + f[b + j];
      activateRow(f, act, yi, n);
    }
  }

  /** z += bias, then a = g(z), row by row; a must not alias z. */
  function biasActivationKeep(
    act: ActivationCode, z: Ptr, bias: Ptr, a: Ptr, m: number, n: number, alpha: number,
  ): void {
    const f = f32;
    const Z = z >>> 2, b = bias >>> 2, A = a >>> 2;
    scalars[ALPHA] = alpha;
    for (let i = 0; i < m; i++) {
      const zi = Z + i * n, ai = A + i * n;
      for (let j = 0; j < n; j++) {
        const v = f[zi + j] + f[b + j];
        f[zi + j] = v;
        f[ai + j] = v;
      }
      activateRow(f, act, ai, n);
    }
  }

  /** dZ = dA ⊙ g'(Z), g' from the output a = g(z) (see backend.ts); dZ may alias dA. */
  function activationBackward(
    act: ActivationCode, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number,
  ): void {
    scalars[ALPHA] = alpha;
    backwardRows(act, a, dA, dZ, m, n);
  }

  /** activationBackward with alpha read from scalars; `a` holds z for the activations of derivativeFromZ. */
  function backwardRows(act: ActivationCode, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number): void {
    const f = f32;
    const A = a >>> 2, G = dA >>> 2, D = dZ >>> 2;
    const len = m * n;
    switch (act) {
      case ACTIVATION.linear:
        if (G !== D) f.copyWithin(D, G, G + len);
        return;
      case ACTIVATION.sigmoid:
        for (let i = 0; i < len; i++) { const s = f[A + i]; f[D + i] = f[G + i] * s * (1 - s); }
        return;
      case ACTIVATION.tanh:
        for (let i = 0; i < len; i++) { const t = f[A + i]; f[D + i] = f[G + i] * (1 - t * t); }
        return;
      case ACTIVATION.relu:
        for (let i = 0; i < len; i++) f[D + i] = f[A + i] > 0 ? f[G + i] : 0;
        return;
      case ACTIVATION.leakyRelu: {
        const alpha = scalars[ALPHA];
        for (let i = 0; i < len; i++) f[D + i] = f[A + i] > 0 ? f[G + i] : alpha * f[G + i];
        return;
      }
      case ACTIVATION.elu:
        for (let i = 0; i < len; i++) { const v = f[A + i]; f[D + i] = v > 0 ? f[G + i] : f[G + i] * (v + 1); }
        return;
      case ACTIVATION.selu:
        for (let i = 0; i < len; i++) {
          const v = f[A + i];
          f[D + i] = v > 0 ? f[G + i] * SELU_SCALE : f[G + i] * (v + SELU_SCALE_ALPHA);
        }
        return;
      case ACTIVATION.relu6:
        for (let i = 0; i < len; i++) { const v = f[A + i]; f[D + i] = v > 0 && v < 6 ? f[G + i] : 0; }
        return;
      case ACTIVATION.softplus:
        for (let i = 0; i < len; i++) f[D + i] = f[G + i] * sigmoid(f[A + i]);
        return;
      case ACTIVATION.swish:
        for (let i = 0; i < len; i++) f[D + i] = f[G + i] * swishDerivative(f[A + i]);
        return;
      case ACTIVATION.gelu:
        for (let i = 0; i < len; i++) f[D + i] = f[G + i] * geluDerivative(f[A + i]);
        return;
      case ACTIVATION.softmax:
        // Row-wise Jacobian: dz_j = a_j (dA_j − Σ_k dA_k a_k).
        for (let r = 0; r < m; r++) {
          const ar = A + r * n, gr = G + r * n, dr = D + r * n;
          let dot = 0;
          for (let j = 0; j < n; j++) dot += f[gr + j] * f[ar + j];
          for (let j = 0; j < n; j++) f[dr + j] = f[ar + j] * (f[gr + j] - dot);
        }
        return;
      default:
        throw new Error(`unknown activation code ${act as number}`);
    }
  }

  // --- Losses. The loss is summed in a double; gradients are written in float32.
  // The kernels of the interface only read the value from its slot: small enough for V8 to inline,
  // so that the double is not boxed on its way out (docs/ARCHITECTURE.md, 'Number boxing').

  function lossSigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number {
    sigmoidBce(z, a, y, dz, m, n);
    return scalars[LOSS];
  }

  function lossSoftmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number {
    softmaxCce(z, a, y, dz, m, n);
    return scalars[LOSS];
  }

  function lossMse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number {
    mse(a, y, da, m, n);
    return scalars[LOSS];
  }

  /** Mean of max(z,0) − z·y + log(1 + e^−|z|) over m·n into scalars[LOSS]; dz = (a − y)/(m·n); dz may alias a. */
  function sigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): void {
    const f = f32;
    const Z = z >>> 2, A = a >>> 2, Yp = y >>> 2, D = dz >>> 2;
    const len = m * n;
    const scale = 1 / len;
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const zi = f[Z + i], yi = f[Yp + i];
      sum += Math.max(zi, 0) - zi * yi + Math.log1p(Math.exp(-Math.abs(zi)));
      f[D + i] = (f[A + i] - yi) * scale;
    }
    scalars[LOSS] = sum * scale;
  }

  /**
   * Mean over rows of −Σ_j y_j (z_j − logΣ_k e^{z_k}), max-subtracted, into scalars[LOSS];
   * dz = (a − y)/m; dz may alias a.
   */
  function softmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): void {
    const f = f32;
    const Z = z >>> 2, A = a >>> 2, Yp = y >>> 2, D = dz >>> 2;
    const scale = 1 / m;
    let sum = 0;
    for (let r = 0; r < m; r++) {
      const zr = Z + r * n, ar = A + r * n, yr = Yp + r * n, dr = D + r * n;
      let max = -Infinity;
      for (let j = 0; j < n; j++) if (f[zr + j] > max) max = f[zr + j];
      let se = 0;
      for (let j = 0; j < n; j++) se += Math.exp(f[zr + j] - max);
      const lse = max + Math.log(se);
      for (let j = 0; j < n; j++) {
        const yj = f[yr + j];
        if (yj !== 0) sum += yj * (lse - f[zr + j]);
        f[dr + j] = (f[ar + j] - yj) * scale;
      }
    }
    scalars[LOSS] = sum * scale;
  }

  /** Mean of (a − y)² over m·n into scalars[LOSS]; da = 2(a − y)/(m·n); da may alias a. */
  function mse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): void {
    const f = f32;
    const A = a >>> 2, Yp = y >>> 2, D = da >>> 2;
    const len = m * n;
    const scale = 1 / len;
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const d = f[A + i] - f[Yp + i];
      sum += d * d;
      f[D + i] = 2 * d * scale;
    }
    scalars[LOSS] = sum * scale;
  }

  function lossMae(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number {
    mae(a, y, da, m, n);
    return scalars[LOSS];
  }

  function lossHuber(a: Ptr, y: Ptr, da: Ptr, m: number, n: number, delta: number): number {
    scalars[ALPHA] = delta;
    huber(a, y, da, m, n);
    return scalars[LOSS];
  }

  /** Mean of |a − y| over m·n into scalars[LOSS]; da = sign(a − y)/(m·n); da may alias a. */
  function mae(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): void {
    const f = f32;
    const A = a >>> 2, Yp = y >>> 2, D = da >>> 2;
    const len = m * n;
    const scale = 1 / len;
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const d = f[A + i] - f[Yp + i];
      sum += Math.abs(d);
      f[D + i] = (d > 0 ? 1 : d < 0 ? -1 : 0) * scale;
    }
    scalars[LOSS] = sum * scale;
  }

  /** Huber loss with δ from scalars[ALPHA] into scalars[LOSS]; da = clamp(a − y, ±δ)/(m·n); da may alias a. */
  function huber(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): void {
    const f = f32;
    const A = a >>> 2, Yp = y >>> 2, D = da >>> 2;
    const delta = scalars[ALPHA];
    const len = m * n;
    const scale = 1 / len;
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const d = f[A + i] - f[Yp + i];
      const ad = Math.abs(d);
      sum += ad <= delta ? 0.5 * d * d : delta * (ad - 0.5 * delta);
      f[D + i] = (d > delta ? delta : d < -delta ? -delta : d) * scale;
    }
    scalars[LOSS] = sum * scale;
  }

  /** n = 1: (a ≥ 0.5) == (y ≥ 0.5); n > 1: argmax(a row) == argmax(y row), first maximum wins. */
  function countCorrect(a: Ptr, y: Ptr, m: number, n: number): number {
    const f = f32;
    const A = a >>> 2, Yp = y >>> 2;
    let correct = 0;
    if (n === 1) {
      for (let i = 0; i < m; i++) if ((f[A + i] >= 0.5) === (f[Yp + i] >= 0.5)) correct++;
      return correct;
    }
    for (let r = 0; r < m; r++) {
      if (argmax(f, A + r * n, n) === argmax(f, Yp + r * n, n)) correct++;
    }
    return correct;
  }

  // --- Data movement.

  /** dst row r = src row index[r]; rows are rowLen floats, index is i32. */
  function gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void {
    const f = f32, idx = i32;
    const S = src >>> 2, I = index >>> 2, D = dst >>> 2;
    for (let r = 0; r < count; r++) {
      const from = S + idx[I + r] * rowLen;
      f.copyWithin(D + r * rowLen, from, from + rowLen);
    }
  }

  function copy(src: Ptr, dst: Ptr, n: number): void {
    f32.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + n);
  }

  function fill(x: Ptr, n: number, value: number): void {
    f32.fill(value, x >>> 2, (x >>> 2) + n);
  }

  function allFinite(x: Ptr, n: number): number {
    const f = f32;
    const X = x >>> 2;
    for (let i = 0; i < n; i++) {
      const v = f[X + i];
      if (v - v !== 0) return 0; // NaN for ±Infinity and NaN
    }
    return 1;
  }

  function countNonzeroFinite(x: Ptr, n: number): number {
    const f = f32;
    const X = x >>> 2;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = f[X + i];
      if (v - v !== 0) return -1; // NaN for ±Infinity and NaN
      if (v !== 0) count++;
    }
    return count;
  }

  // --- Optimizers, in place over n parameters; g' = g + l2·w (coupled L2). The state they keep
  // (m, v) is stored flushed to zero, as in assembly/optimizers.ts, which says why: a magnitude
  // below the smallest normal float32 is stored as +0, and the update uses the flushed value. With
  // l2 > 0, a weight below weightFloor(l2) is stored as 0. With l2 = 0 (the default) a loop without
  // the l2 term pays for the flush, as in the wasm kernels.

  /** w ← w − lr·g'; with l2 > 0, 0 below weightFloor(l2). */
  function sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number): void {
    const f = f32;
    const W = w >>> 2, G = g >>> 2;
    if (l2 === 0) {
      for (let i = 0; i < n; i++) f[W + i] -= lr * f[G + i];
      return;
    }
    const floor = weightFloor(l2);
    for (let i = 0; i < n; i++) {
      const wi = f[W + i];
      f[W + i] = flushWeight(wi - lr * (f[G + i] + l2 * wi), floor);
    }
  }

  /** m ← βm + (1−β)g', flushed; w ← w − lr·m/(1−βᵗ), with l2 > 0 0 below weightFloor(l2). */
  function momentum(
    w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number,
  ): void {
    const f = f32;
    const W = w >>> 2, G = g >>> 2, M = mom >>> 2;
    const step = lr / (1 - Math.pow(beta, t));
    const oneMinusBeta = 1 - beta;
    if (l2 === 0) {
      for (let i = 0; i < n; i++) {
        const wi = f[W + i];
        const mi = flush(beta * f[M + i] + oneMinusBeta * f[G + i]);
        f[M + i] = mi;
        f[W + i] = wi - step * mi;
      }
      return;
    }
    const floor = weightFloor(l2);
    for (let i = 0; i < n; i++) {
      const wi = f[W + i];
      const gi = f[G + i] + l2 * wi;
      const mi = flush(beta * f[M + i] + oneMinusBeta * gi);
      f[M + i] = mi;
      f[W + i] = flushWeight(wi - step * mi, floor);
    }
  }

  /**
   * m ← β1m + (1−β1)g'; v ← β2v + (1−β2)g'², both flushed; w ← w − lr·m̂/(√v̂ + ε), with l2 > 0
   * 0 below weightFloor(l2), computed as w − m/(√v·a + b) like the wasm kernel
   * (assembly/optimizers.ts explains the constants).
   */
  function adam(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, t: number, l2: number,
  ): void {
    const f = f32;
    const W = w >>> 2, G = g >>> 2, M = m >>> 2, V = v >>> 2;
    const scale = (1 - Math.pow(beta1, t)) / lr;
    const a = Math.sqrt(1 / (1 - Math.pow(beta2, t))) * scale;
    const b = epsilon * scale;
    const b1c = 1 - beta1, b2c = 1 - beta2;
    if (l2 === 0) {
      for (let i = 0; i < n; i++) {
        const gi = f[G + i];
        const mi = flush(beta1 * f[M + i] + b1c * gi);
        const vi = flush(beta2 * f[V + i] + b2c * gi * gi);
        f[M + i] = mi;
        f[V + i] = vi;
        f[W + i] -= mi / (Math.sqrt(vi) * a + b);
      }
      return;
    }
    const floor = weightFloor(l2);
    for (let i = 0; i < n; i++) {
      const wi = f[W + i];
      const gi = f[G + i] + l2 * wi;
      const mi = flush(beta1 * f[M + i] + b1c * gi);
      const vi = flush(beta2 * f[V + i] + b2c * gi * gi);
      f[M + i] = mi;
      f[V + i] = vi;
      f[W + i] = flushWeight(wi - mi / (Math.sqrt(vi) * a + b), floor);
    }
  }

  return {
    name: 'js',
    relaxed: false,
    threads: 1,
    threadsReason,
    dispose: (): void => undefined,
    overlap: (task: () => void): void => task(),
    settle: (): void => undefined,
    maxBytes: MAX_BYTES,
    get f32() { return f32; },
    get i32() { return i32; },

    alloc: (count: number, zero?: boolean): Ptr => heap.alloc(count, zero),
    mark: (): number => heap.mark(),
    release: (mark: number): void => heap.release(mark),

    gemmNN, gemmTN, gemmNT, gemmNTBackward, sparseGemmNN, sparseGemmTN,
    biasAdd, colSum,
    activation, biasActivation, biasActivationKeep, activationBackward,
    lossSigmoidBce, lossSoftmaxCce, lossMse, lossMae, lossHuber, countCorrect,
    gatherRows, copy, fill, allFinite, countNonzeroFinite,
    sgd, momentum, adam,
    // The kernels of js-updates.ts, on the current view of memory.
    sgdMomentum: (w, g, acc, n, lr, mu, nesterov, l2) => updates.sgdMomentum(f32, w >>> 2, g >>> 2, acc >>> 2, n, lr, mu, nesterov, l2),
    rmsprop: (w, g, ms, mom, mg, n, lr, rho, epsilon, mu, centered) =>
      updates.rmsprop(f32, w >>> 2, g >>> 2, ms >>> 2, mom >>> 2, mg >>> 2, n, lr, rho, epsilon, mu, centered),
    adagrad: (w, g, acc, n, lr, epsilon) => updates.adagrad(f32, w >>> 2, g >>> 2, acc >>> 2, n, lr, epsilon),
    adamw: (w, g, m, v, n, lr, beta1, beta2, epsilon, weightDecay, t) =>
      updates.adamw(f32, w >>> 2, g >>> 2, m >>> 2, v >>> 2, n, lr, beta1, beta2, epsilon, weightDecay, t),
    sumSquares: (x, n, out) => updates.sumSquares(f32, x >>> 2, n, out >>> 2),
    scaleInPlace: (x, n, s) => updates.scaleInPlace(f32, x >>> 2, n, s),
    clampInPlace: (x, n, c) => updates.clampInPlace(f32, x >>> 2, n, c),
    regularizerGradient: (w, dw, n, l1, l2) => updates.regularizerGradient(f32, w >>> 2, dw >>> 2, n, l1, l2),
    regularizerPenalty: (w, n, l1, l2, out) => updates.regularizerPenalty(f32, w >>> 2, n, l1, l2, out >>> 2),
    dropout: (x, y, n, first, rate, seed, step, layer) => updates.dropout(f32, x >>> 2, y >>> 2, n, first, rate, seed, step, layer),
    // The kernels of js-batchnorm.ts.
    batchNormTrain: (x, m, n, bias, gamma, beta, epsilon, mean, variance, invStd, xhat, y) => norm.batchNormTrain(
      f32, x >>> 2, m, n, bias >>> 2, gamma >>> 2, beta >>> 2, epsilon, mean >>> 2, variance >>> 2, invStd >>> 2, xhat >>> 2, y >>> 2),
    batchNormBackward: (dy, xhat, m, n, gamma, invStd, dgamma, dbeta, dx) => norm.batchNormBackward(
      f32, dy >>> 2, xhat >>> 2, m, n, gamma >>> 2, invStd >>> 2, dgamma >>> 2, dbeta >>> 2, dx >>> 2),
    batchNormInference: (x, m, n, bias, gamma, beta, mean, variance, epsilon, scale, y) => norm.batchNormInference(
      f32, x >>> 2, m, n, bias >>> 2, gamma >>> 2, beta >>> 2, mean >>> 2, variance >>> 2, epsilon, scale >>> 2, y >>> 2),
    movingAverage: (moving, batch, n, momentum) => norm.movingAverage(f32, moving >>> 2, batch >>> 2, n, momentum),
  };
}

/**
 * Doubles of smaller magnitude round to a subnormal float32 or to ±0 when stored: 2^-126 − 2^-150,
 * halfway between the smallest normal float32 and the largest subnormal one (that tie rounds up to
 * 2^-126, whose significand is even).
 */
const FLUSH_BELOW = 2 ** -126 - 2 ** -150;

/**
 * v, or +0 where storing v in a Float32Array would give a subnormal float or −0: the floats that
 * the wasm kernels' flush of their float32 results turns into +0. NaN passes unchanged.
 */
function flush(v: number): number {
  return Math.abs(v) < FLUSH_BELOW ? 0 : v;
}

/**
 * With l2 > 0, weights of smaller magnitude are stored as 0: there l2·w would be subnormal (see
 * assembly/optimizers.ts). A float32, as in the wasm kernels.
 */
function weightFloor(l2: number): number {
  return Math.fround(2 ** -126 / Math.min(l2, 1));
}

/** v rounded to float32, or +0 where that is below `floor` in magnitude (or −0). NaN passes. */
function flushWeight(v: number, floor: number): number {
  const r = Math.fround(v);
  return Math.abs(r) < floor ? 0 : r;
}

/** σ(z) without overflow: e^−|z| ≤ 1 on both branches. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** selu's λ and λ·α (Klambauer et al. 2017), as TensorFlow.js has them. */
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473766;
const INV_SQRT_2PI = 0.3989422804014327;

/** log(1 + e^z) without overflow: max(z, 0) + log1p(e^−|z|). */
function softplus(z: number): number {
  return (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

/** swish′(z) = σ(z)·(1 + z·(1 − σ(z))), with 1 − σ(z) = σ(−z) taken directly. */
function swishDerivative(z: number): number {
  return sigmoid(z) * (1 + z * sigmoid(-z));
}

/**
 * Φ(z) = ½·erfc(−z/√2). erfc(x) for x ≥ 0 is t·exp(−x² − 1.26551223 + t·P(t)), t = 1/(1 + x/2)
 * (Numerical Recipes' erfcc: relative error below 1.2e-7 for every x), so Φ keeps its relative
 * accuracy in the lower tail, where gelu(z) = z·Φ(z) is small. assembly/activations.ts computes the same.
 */
function normalCdf(z: number): number {
  const x = Math.abs(z) * Math.SQRT1_2;
  const t = 1 / (1 + 0.5 * x);
  const p = 1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))));
  const half = 0.5 * t * Math.exp(-0.5 * z * z + (t * p - 1.26551223));
  return z >= 0 ? 1 - half : half;
}

/** gelu′(z) = Φ(z) + z·φ(z), φ the standard normal density. */
function geluDerivative(z: number): number {
  return normalCdf(z) + z * INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

function argmax(f: Float32Array, start: number, n: number): number {
  let best = 0;
  let max = f[start];
  for (let j = 1; j < n; j++) {
    if (f[start + j] > max) { max = f[start + j]; best = j; }
  }
  return best;
}
