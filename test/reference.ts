/**
 * An independent float64 reference for every kernel, written straight from the formulas
 * (backend.ts and docs/ARCHITECTURE.md) with no blocking, unrolling or fusion. Inputs are plain arrays;
 * outputs are Float64Array. Matrices are row-major, batch-first, as in the kernels.
 */
type Vec = ArrayLike<number>;

export type RefActivation =
  | 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'softmax' | 'elu' | 'selu' | 'softplus' | 'swish' | 'gelu' | 'relu6';

/** The activations whose derivative the kernels take from z rather than from a = g(z). */
export const FROM_Z: readonly RefActivation[] = ['softplus', 'swish', 'gelu'];

// selu's constants (Klambauer et al. 2017), to the digits the paper gives.
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * erfc(x) in float64, independently of the kernels' formula: for |x| < 2 from erf's Taylor series
 * 2/√π·Σ (−1)ⁿ x^(2n+1)/(n!(2n+1)) (terms below 1e-17 of the sum dropped), for x ≥ 2 from the
 * continued fraction e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))) evaluated from 200 levels down.
 */
export function erfc(x: number): number {
  if (x >= 2) {
    let f = x;
    for (let k = 200; k >= 1; k--) f = x + k / 2 / f;
    return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
  }
  if (x <= -2) return 2 - erfc(-x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return 1 - (2 / Math.sqrt(Math.PI)) * sum;
}

/** The standard normal distribution function Φ(z) = ½·erfc(−z/√2). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

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
    case 'elu': return z > 0 ? z : Math.exp(z) - 1;
    case 'selu': return SELU_SCALE * (z > 0 ? z : SELU_ALPHA * (Math.exp(z) - 1));
    // log(1 + e^z) = z + log(1 + e^−z), with log1p so that a small e^±z keeps its digits.
    case 'softplus': return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    case 'swish': return z / (1 + Math.exp(-z));
    case 'gelu': return z * normalCdf(z);
    case 'relu6': return Math.min(Math.max(z, 0), 6);
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
    case 'elu': return z > 0 ? 1 : Math.exp(z);
    case 'selu': return z > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(z);
    case 'softplus': return 1 / (1 + Math.exp(-z));
    case 'swish': {
      const s = 1 / (1 + Math.exp(-z));
      return s + z * s * (1 - s);
    }
    case 'gelu': return normalCdf(z) + (z * Math.exp(-z * z / 2)) / Math.sqrt(2 * Math.PI);
    case 'relu6': return z > 0 && z < 6 ? 1 : 0;
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

/**
 * dZ = dA ⊙ g'(Z) written in terms of a = g(z), exactly as the kernel contract states it; for the
 * activations of FROM_Z, `a` holds z, as it does for the kernels.
 */
export function activationBackwardFromA(
  act: RefActivation, a: Vec, dA: Vec, m: number, n: number, alpha = 0,
): Float64Array {
  if (FROM_Z.includes(act)) return activationBackwardFromZ(act, a, dA, m, n, alpha);
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
        case 'elu': d = av > 0 ? dA[q] : dA[q] * (av + 1); break;
        case 'selu': d = av > 0 ? dA[q] * SELU_SCALE : dA[q] * (av + SELU_SCALE * SELU_ALPHA); break;
        case 'relu6': d = av > 0 && av < 6 ? dA[q] : 0; break;
        default: throw new Error(`activationBackwardFromA: ${act} is written from z`);
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

/** Mean absolute error over m·n; gradient sign(a − y)/(m·n). */
export function mae(a: Vec, y: Vec, m: number, n: number): LossRef {
  const count = m * n;
  let sum = 0;
  const grad = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    sum += Math.abs(a[i] - y[i]);
    grad[i] = Math.sign(a[i] - y[i]) / count;
  }
  return { loss: sum / count, grad };
}

/** Huber loss (Huber 1964) over m·n: ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond; gradient clamp(d, ±δ)/(m·n). */
export function huber(a: Vec, y: Vec, m: number, n: number, delta: number): LossRef {
  const count = m * n;
  let sum = 0;
  const grad = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const d = a[i] - y[i];
    sum += Math.abs(d) <= delta ? d * d / 2 : delta * (Math.abs(d) - delta / 2);
    grad[i] = Math.min(Math.max(d, -delta), delta) / count;
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

// --- The optimizers of TensorFlow.js and Keras, and clipping (assembly/updates.ts) ------------

/** tf.train.momentum: acc ← μ·acc + g; w ← w − lr·acc, or w − lr·(g + μ·acc) with Nesterov; g + l2·w first. */
export function sgdMomentumSteps(w0: Vec, grads: Vec[], lr: number, mu: number, nesterov: boolean, l2 = 0): Float64Array[] {
  const w = Float64Array.from(w0);
  const acc = new Float64Array(w.length);
  return grads.map((g) => {
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + l2 * w[i];
      acc[i] = mu * acc[i] + gi;
      w[i] -= lr * (nesterov ? gi + mu * acc[i] : acc[i]);
    }
    return w.slice();
  });
}

/** RMSProp: ms ← ρms + (1−ρ)g²; centered mg ← ρmg + (1−ρ)g; d = √(ms (− mg²) + ε); mom ← μ·mom + lr·g/d; w ← w − mom. */
export function rmspropSteps(
  w0: Vec, grads: Vec[], lr: number, rho: number, epsilon: number, mu: number, centered: boolean,
): Float64Array[] {
  const w = Float64Array.from(w0);
  const ms = new Float64Array(w.length);
  const mg = new Float64Array(w.length);
  const mom = new Float64Array(w.length);
  return grads.map((g) => {
    for (let i = 0; i < w.length; i++) {
      ms[i] = rho * ms[i] + (1 - rho) * g[i] ** 2;
      mg[i] = rho * mg[i] + (1 - rho) * g[i];
      const d = Math.sqrt(ms[i] - (centered ? mg[i] ** 2 : 0) + epsilon);
      mom[i] = mu * mom[i] + (lr * g[i]) / d;
      w[i] -= mom[i];
    }
    return w.slice();
  });
}

/** Adagrad: acc starts at `initial`; acc ← acc + g²; w ← w − lr·g/√(acc + ε). */
export function adagradSteps(w0: Vec, grads: Vec[], lr: number, initial: number, epsilon: number): Float64Array[] {
  const w = Float64Array.from(w0);
  const acc = new Float64Array(w.length).fill(initial);
  return grads.map((g) => {
    for (let i = 0; i < w.length; i++) {
      acc[i] += g[i] ** 2;
      w[i] -= (lr * g[i]) / Math.sqrt(acc[i] + epsilon);
    }
    return w.slice();
  });
}

/** AdamW (Loshchilov & Hutter, as Keras): w ← w − lr·λ·w, then Adam's step. */
export function adamwSteps(
  w0: Vec, grads: Vec[], lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number,
): Float64Array[] {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  return grads.map((g, step) => {
    const t = step + 1;
    for (let i = 0; i < w.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2;
      w[i] -= lr * weightDecay * w[i];
      w[i] -= (lr * (m[i] / (1 - beta1 ** t))) / (Math.sqrt(v[i] / (1 - beta2 ** t)) + epsilon);
    }
    return w.slice();
  });
}

/** Keras' clipping: g·min(1, clipNorm/‖g‖) over the whole gradient, then each value clamped to ±clipValue. */
export function clip(g: Vec, clipNorm: number, clipValue: number): Float64Array {
  const out = Float64Array.from(g);
  if (clipNorm > 0) {
    const norm = Math.sqrt(out.reduce((s, v) => s + v * v, 0));
    if (norm > clipNorm) for (let i = 0; i < out.length; i++) out[i] *= clipNorm / norm;
  }
  if (clipValue > 0) for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(out[i], -clipValue), clipValue);
  return out;
}

// --- Batch normalization (assembly/batchnorm.ts), per column of an m×n block -------------------

export interface BatchNormRef {
  mean: Float64Array;
  /** Biased: Σ (x − μ)²/m, as TF.js' tf.moments. */
  variance: Float64Array;
  xhat: Float64Array;
  y: Float64Array;
}

/** Training forward: μ, v over the rows, xhat = (x − μ)/√(v + ε), y = γ·xhat + β. */
export function batchNormTrain(x: Vec, m: number, n: number, gamma: Vec, beta: Vec, epsilon: number): BatchNormRef {
  const mean = new Float64Array(n), variance = new Float64Array(n);
  const xhat = new Float64Array(m * n), y = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) mean[j] += x[i * n + j] / m;
    for (let i = 0; i < m; i++) variance[j] += (x[i * n + j] - mean[j]) ** 2 / m;
    for (let i = 0; i < m; i++) {
      xhat[i * n + j] = (x[i * n + j] - mean[j]) / Math.sqrt(variance[j] + epsilon);
      y[i * n + j] = gamma[j] * xhat[i * n + j] + beta[j];
    }
  }
  return { mean, variance, xhat, y };
}

/**
 * The backward pass by the chain rule through the batch statistics, step by step (the textbook
 * form, not the kernels' compact one): dxhat = dy·γ, dv = Σ dxhat·(x − μ)·(−½)(v + ε)^(−3/2),
 * dμ = −Σ dxhat/√(v + ε) + dv·Σ −2(x − μ)/m, dx = dxhat/√(v + ε) + dv·2(x − μ)/m + dμ/m.
 */
export function batchNormBackward(
  dy: Vec, x: Vec, m: number, n: number, gamma: Vec, epsilon: number,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { mean, variance, xhat } = batchNormTrain(x, m, n, gamma, new Float64Array(n), epsilon);
  const dx = new Float64Array(m * n), dgamma = new Float64Array(n), dbeta = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const sd = Math.sqrt(variance[j] + epsilon);
    let dv = 0, dmu = 0, centred = 0;
    for (let i = 0; i < m; i++) {
      const g = dy[i * n + j];
      dbeta[j] += g;
      dgamma[j] += g * xhat[i * n + j];
      dv += g * gamma[j] * (x[i * n + j] - mean[j]) * -0.5 * sd ** -3;
      dmu -= (g * gamma[j]) / sd;
      centred += -2 * (x[i * n + j] - mean[j]);
    }
    dmu += (dv * centred) / m;
    for (let i = 0; i < m; i++) {
      dx[i * n + j] = (dy[i * n + j] * gamma[j]) / sd + (dv * 2 * (x[i * n + j] - mean[j])) / m + dmu / m;
    }
  }
  return { dx, dgamma, dbeta };
}

/** Inference: y = γ·(x − μ)/√(v + ε) + β with the moving statistics. */
export function batchNormInference(x: Vec, m: number, n: number, gamma: Vec, beta: Vec, mean: Vec, variance: Vec, epsilon: number): Float64Array {
  return Float64Array.from({ length: m * n }, (_, k) => {
    const j = k % n;
    return (gamma[j] * (x[k] - mean[j])) / Math.sqrt(variance[j] + epsilon) + beta[j];
  });
}

/** Keras' moving average: moving·momentum + batch·(1 − momentum). */
export function movingAverage(moving: Vec, batch: Vec, momentum: number): Float64Array {
  return Float64Array.from(moving, (v, i) => v * momentum + batch[i] * (1 - momentum));
}
