/**
 * An independent float64 reference for every kernel, written straight from the formulas
 * (backend.ts and docs/ARCHITECTURE.md) with no blocking, unrolling or fusion. Inputs are plain arrays;
 * outputs are Float64Array. Matrices are row-major, batch-first, as in the kernels.
 */
type Vec = ArrayLike<number>;

export type RefActivation = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'softmax';

// --- GEMM -------------------------------------------------------------------------------------

/** Element (i,p) of op(A) for A·B (A [m×k]) or Aᵀ·B (A stored [k×m]). */
function opA(a: Vec, transA: boolean, m: number, k: number, i: number, p: number): number {
  return transA ? a[p * m + i] : a[i * k + p];
}
/** Element (p,j) of op(B) for ·B (B [k×n]) or ·Bᵀ (B stored [n×k]). */
function opB(b: Vec, transB: boolean, k: number, n: number, p: number, j: number): number {
  return transB ? b[j * k + p] : b[p * n + j];
}

export interface GemmRef {
  /** C = op(A)·op(B) (+ C0 when given). */
  c: Float64Array;
  /** Σ_p |op(A)[i,p]·op(B)[p,j]| (+ |C0|): the scale of the rounding error bound. */
  absSum: Float64Array;
}

export function gemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number, a: Vec, b: Vec, c0?: Vec,
): GemmRef {
  const c = new Float64Array(m * n);
  const absSum = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j] : 0;
      let abs = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const t = opA(a, transA, m, k, i, p) * opB(b, transB, k, n, p, j);
        s += t;
        abs += Math.abs(t);
      }
      c[i * n + j] = s;
      absSum[i * n + j] = abs;
    }
  }
  return { c, absSum };
}

// --- Bias and reductions -----------------------------------------------------------------------

export function biasAdd(x: Vec, bias: Vec, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = x[i * n + j] + bias[j];
  return out;
}

export function colSum(x: Vec, m: number, n: number, out0?: Vec): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = out0 ? out0[j] : 0;
    for (let i = 0; i < m; i++) s += x[i * n + j];
    out[j] = s;
  }
  return out;
}

// --- Activations ------------------------------------------------------------------------------

/** g(z) for one scalar; softmax is handled row-wise in `activation`. */
function g(act: Exclude<RefActivation, 'softmax'>, z: number, alpha: number): number {
  switch (act) {
    case 'linear': return z;
    // 1/(1+e^−z) straight from the formula; in float64 e^100 is finite, so |z| ≤ 700 is exact enough.
    case 'sigmoid': return 1 / (1 + Math.exp(-z));
    case 'tanh': return (Math.exp(z) - Math.exp(-z)) / (Math.exp(z) + Math.exp(-z));
    case 'relu': return z > 0 ? z : 0;
    case 'leakyRelu': return z > 0 ? z : alpha * z;
  }
}

export function activation(act: RefActivation, x: Vec, m: number, n: number, alpha = 0): Float64Array {
  const y = new Float64Array(m * n);
  if (act === 'softmax') {
    for (let i = 0; i < m; i++) {
      const row = Array.from({ length: n }, (_, j) => x[i * n + j]);
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((s, v) => s + v, 0);
      for (let j = 0; j < n; j++) y[i * n + j] = e[j] / sum;
    }
    return y;
  }
  for (let i = 0; i < m * n; i++) y[i] = g(act, x[i], alpha);
  return y;
}

/** The derivative g'(z) in terms of z itself (not of a): an independent route to dZ. */
function gPrimeFromZ(act: Exclude<RefActivation, 'softmax'>, z: number, alpha: number): number {
  switch (act) {
    case 'linear': return 1;
    case 'sigmoid': return Math.exp(-z) / (1 + Math.exp(-z)) ** 2;
    case 'tanh': return 1 / Math.cosh(z) ** 2;
    case 'relu': return z > 0 ? 1 : 0;
    case 'leakyRelu': return z > 0 ? 1 : alpha;
  }
}

/**
 * dZ = dA ⊙ g'(Z) from the pre-activation z. For softmax the full Jacobian is built,
 * J[j][k] = s_j(δ_jk − s_k), and dz_k = Σ_j dA_j J[j][k].
 */
export function activationBackwardFromZ(
  act: RefActivation, z: Vec, dA: Vec, m: number, n: number, alpha = 0,
): Float64Array {
  const dz = new Float64Array(m * n);
  if (act === 'softmax') {
    const s = activation('softmax', z, m, n);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < n; k++) {
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const jac = s[i * n + j] * ((j === k ? 1 : 0) - s[i * n + k]);
          sum += dA[i * n + j] * jac;
        }
        dz[i * n + k] = sum;
      }
    }
    return dz;
  }
  for (let i = 0; i < m * n; i++) dz[i] = dA[i] * gPrimeFromZ(act, z[i], alpha);
  return dz;
}

/** dZ = dA ⊙ g'(Z) written in terms of a = g(z), exactly as the kernel contract states it. */
export function activationBackwardFromA(
  act: RefActivation, a: Vec, dA: Vec, m: number, n: number, alpha = 0,
): Float64Array {
  const dz = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    let dot = 0;
    if (act === 'softmax') for (let j = 0; j < n; j++) dot += dA[i * n + j] * a[i * n + j];
    for (let j = 0; j < n; j++) {
      const q = i * n + j;
      const av = a[q];
      let d: number;
      switch (act) {
        case 'linear': d = dA[q]; break;
        case 'sigmoid': d = dA[q] * av * (1 - av); break;
        case 'tanh': d = dA[q] * (1 - av * av); break;
        case 'relu': d = av > 0 ? dA[q] : 0; break;
        case 'leakyRelu': d = av > 0 ? dA[q] : alpha * dA[q]; break;
        case 'softmax': d = av * (dA[q] - dot); break;
      }
      dz[q] = d;
    }
  }
  return dz;
}

// --- Losses -----------------------------------------------------------------------------------

export interface LossRef {
  loss: number;
  grad: Float64Array;
}

/**
 * Binary cross-entropy, L = −y log σ(z) − (1−y) log(1−σ(z)), averaged over m·n.
 * log σ(z) = −log(1 + e^−z) and log(1 − σ(z)) = −z − log(1 + e^−z) are used in their float64
 * form, picking the sign of the exponent that cannot overflow; gradient (σ(z) − y)/(m·n).
 */
export function bce(z: Vec, y: Vec, m: number, n: number): LossRef {
  const count = m * n;
  const softplus = (t: number): number => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));
  let sum = 0;
  const grad = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const logA = -softplus(-z[i]); // log σ(z)
    const log1mA = -softplus(z[i]); // log(1 − σ(z))
    sum += -y[i] * logA - (1 - y[i]) * log1mA;
    grad[i] = (1 / (1 + Math.exp(-z[i])) - y[i]) / count;
  }
  return { loss: sum / count, grad };
}

/** Categorical cross-entropy −Σ_j y_j log softmax(z)_j, averaged over m rows; gradient (softmax(z) − y)/m. */
export function cce(z: Vec, y: Vec, m: number, n: number): LossRef {
  const s = activation('softmax', z, m, n);
  let sum = 0;
  const grad = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = Array.from({ length: n }, (_, j) => z[i * n + j]);
    const max = Math.max(...row);
    const logSumExp = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
    for (let j = 0; j < n; j++) {
      const q = i * n + j;
      if (y[q] !== 0) sum -= y[q] * (z[q] - logSumExp);
      grad[q] = (s[q] - y[q]) / m;
    }
  }
  return { loss: sum / m, grad };
}

/** Mean squared error over m·n; gradient 2(a − y)/(m·n). */
export function mse(a: Vec, y: Vec, m: number, n: number): LossRef {
  const count = m * n;
  let sum = 0;
  const grad = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    sum += (a[i] - y[i]) ** 2;
    grad[i] = (2 * (a[i] - y[i])) / count;
  }
  return { loss: sum / count, grad };
}

/** Rows whose prediction matches the label (threshold 0.5 for n = 1, first argmax otherwise). */
export function countCorrect(a: Vec, y: Vec, m: number, n: number): number {
  let correct = 0;
  for (let i = 0; i < m; i++) {
    if (n === 1) {
      if ((a[i] >= 0.5) === (y[i] >= 0.5)) correct++;
      continue;
    }
    const rowA = Array.from({ length: n }, (_, j) => a[i * n + j]);
    const rowY = Array.from({ length: n }, (_, j) => y[i * n + j]);
    if (rowA.indexOf(Math.max(...rowA)) === rowY.indexOf(Math.max(...rowY))) correct++;
  }
  return correct;
}

// --- Optimizers: run t = 1..T over a sequence of gradients, return w after each step ----------

export function sgdSteps(w0: Vec, grads: Vec[], lr: number, l2 = 0): Float64Array[] {
  const w = Float64Array.from(w0);
  const history: Float64Array[] = [];
  for (const g of grads) {
    for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] + l2 * w[i]);
    history.push(w.slice());
  }
  return history;
}

/** Seed 001: m ← βm + (1−β)g, m̂ = m/(1−βᵗ), w ← w − lr·m̂. */
export function momentumSteps(w0: Vec, grads: Vec[], lr: number, beta: number, l2 = 0): Float64Array[] {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const history: Float64Array[] = [];
  grads.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + l2 * w[i];
      m[i] = beta * m[i] + (1 - beta) * gi;
      const mHat = m[i] / (1 - beta ** t);
      w[i] -= lr * mHat;
    }
    history.push(w.slice());
  });
  return history;
}

/** Adam: m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ), w ← w − lr·m̂/(√v̂ + ε). */
export function adamSteps(
  w0: Vec, grads: Vec[], lr: number, beta1: number, beta2: number, epsilon: number, l2 = 0,
): Float64Array[] {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const history: Float64Array[] = [];
  grads.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + l2 * w[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      const mHat = m[i] / (1 - beta1 ** t);
      const vHat = v[i] / (1 - beta2 ** t);
      w[i] -= (lr * mHat) / (Math.sqrt(vHat) + epsilon);
    }
    history.push(w.slice());
  });
  return history;
}
