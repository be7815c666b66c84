/**
 * The kernel set, declared once. `wasm` (SIMD WebAssembly) and `js` (plain loops on Float32Array)
 * implement it with the same semantics; models, layers and the training loop see only this.
 *
 * Memory: each backend owns one linear memory. A `Ptr` is a byte offset into it. `alloc` hands out
 * 16-byte aligned blocks, but kernels accept any 4-byte aligned pointer, so a kernel can be called
 * on a range of rows of a larger buffer. Kernels take pointers and sizes only, never allocate, and
 * keep no state. NaN inputs pass through activations unchanged (relu included); they are caught
 * by `allFinite`, not by the kernels.
 * All matrices are row-major, batch-first: X is [m × n_in], W is [n_in × n_out], Z = X·W + b.
 */
export type Ptr = number;

/** Activation codes shared by both backends (and by the AssemblyScript kernels). */
export const ACTIVATION = {
  linear: 0,
  sigmoid: 1,
  tanh: 2,
  relu: 3,
  leakyRelu: 4,
  softmax: 5,
  elu: 6,
  selu: 7,
  softplus: 8,
  swish: 9,
  gelu: 10,
  relu6: 11,
} as const;
export type ActivationName = keyof typeof ACTIVATION;
export type ActivationCode = (typeof ACTIVATION)[ActivationName];
export const ACTIVATION_NAMES = Object.keys(ACTIVATION) as ActivationName[];

/**
 * Whether g' is written from the pre-activation z rather than from the output a = g(z). softplus,
 * swish and gelu: swish and gelu are not monotonic, so a does not determine z, and softplus' g' = σ(z)
 * from a would be 1 − e^−a, which loses its relative accuracy for small a. A layer with one of these
 * keeps Z beside A during training (plan.ts), and the backward kernels are given Z where the others
 * are given A.
 */
export function derivativeFromZ(act: ActivationCode): boolean {
  return act === ACTIVATION.softplus || act === ACTIVATION.swish || act === ACTIVATION.gelu;
}

export const BACKEND_NAMES = ['wasm', 'js'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface Backend {
  readonly name: BackendName;
  /**
   * True for the wasm backend's relaxed-SIMD build, whose GEMM uses fused multiply-add: faster,
   * with one rounding per step instead of two, so results differ from the default build in the
   * last bits. The default build and the js backend give the same bits on every engine.
   */
  readonly relaxed: boolean;
  /**
   * Threads the kernels run on: 1 (the calling thread), or more for a wasm backend created with
   * `threads`, which splits large kernel calls by output (rows or column panels of C, ranges of
   * parameters) so that every thread count computes the same bits.
   */
  readonly threads: number;
  /** Why the backend runs on fewer threads than it was asked for; undefined when it runs on all. */
  readonly threadsReason: string | undefined;
  /** Stops the backend's threads, if it has any (idempotent); kernels then run on the calling thread. */
  dispose(): void;
  /**
   * Runs `task` (JavaScript work on the calling thread, such as copying the next rows in) while the
   * other threads start on the next kernel call that is split; on one thread, at once. It must not
   * touch memory that kernel calls made before `settle()` read or write; it has run when `settle()`
   * returns, and an error it throws is thrown by the call it ran in, once that call is complete.
   */
  overlap(task: () => void): void;
  /** Runs the task given to `overlap`, if it has not run yet. */
  settle(): void;

  /**
   * The most bytes its memory can ever hold: 4 GiB for both, the wasm32 address space (the js
   * backend keeps the same 32-bit byte offsets). The memory plan (plan.ts) checks against it before
   * anything is allocated.
   */
  readonly maxBytes: number;

  /** Float32 / Int32 views over the whole memory. Re-read after `alloc`: memory may have grown. */
  readonly f32: Float32Array;
  readonly i32: Int32Array;

  /**
   * `count` floats, 16-byte aligned, zero-filled; with `zero` false their content is whatever the
   * memory held (for a buffer the caller overwrites whole at once, such as an upload), the
   * alignment padding after them still zero.
   */
  alloc(count: number, zero?: boolean): Ptr;
  /** The allocation top; `release(mark)` frees everything allocated after it (stack discipline). */
  mark(): number;
  release(mark: number): void;

  // --- GEMM: C[m×n] = op(A)·op(B), or C += op(A)·op(B) when `accumulate`. Any m, n, k ≥ 1.
  // C must not alias A or B.
  /** A is [m×k], B is [k×n]. */
  gemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void;
  /** Aᵀ·B: A is stored [k×m], B is [k×n] (dW = A_prevᵀ·dZ). */
  gemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void;
  /** A·Bᵀ: A is [m×k], B is stored [n×k] (dA_prev = dZ·Wᵀ). */
  gemmNT(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void;
  /**
   * The backward step through a layer in one pass: out[m×n] = (dz·wᵀ) ⊙ g'(aPrev), with dz [m×k],
   * w stored [n×k] and aPrev [m×n] the value g' is written from: the forward output A, or Z for
   * the activations of derivativeFromZ (as in activationBackward; alpha is leakyRelu's slope).
   * That is dZ_prev = dA_prev ⊙ g'(Z_prev) with dA_prev = dZ·Wᵀ, without writing dA_prev. out must not alias dz, w or aPrev.
   */
  gemmNTBackward(
    act: ActivationCode, m: number, n: number, k: number, dz: Ptr, w: Ptr, aPrev: Ptr, out: Ptr, alpha: number,
  ): void;

  // --- Sparse inputs: the two products that read a layer's input X (the first layer's, when the
  // data are sparse), computed from the nonzero elements of X only (docs/ARCHITECTURE.md, 'Sparse
  // inputs'). Same arguments and, whenever B is finite, the same bits as gemmNN and gemmTN: only
  // terms whose element of A is exactly ±0 are left out, and every sum keeps the dense kernel's
  // order. (The one exception, the sign of a zero result, and why nothing sees it: ARCHITECTURE.md.)
  /** gemmNN with A = X [m×k] sparse: Z = X·W. */
  sparseGemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void;
  /** gemmTN with A = X stored [k×m] sparse: dW = Xᵀ·dZ. */
  sparseGemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void;

  // --- Bias and reductions. x is [m×n], bias / out are [n].
  /** x[i,j] += bias[j]. */
  biasAdd(x: Ptr, bias: Ptr, m: number, n: number): void;
  /** out[j] = Σ_i x[i,j] (or out[j] += … when `accumulate`): db from dZ. */
  colSum(x: Ptr, m: number, n: number, out: Ptr, accumulate: boolean): void;

  // --- Activations. `alpha` is leakyRelu's negative slope (ignored by the others).
  // softmax is row-wise over n columns, max-subtracted. elu(z) = z > 0 ? z : e^z − 1;
  // selu(z) = λ·(z > 0 ? z : α·(e^z − 1)) with λ ≈ 1.0507, α ≈ 1.6733; softplus(z) = log(1 + e^z);
  // swish(z) = z·σ(z); gelu(z) = z·Φ(z) = z·½·(1 + erf(z/√2)) (exact, as TensorFlow.js' 'gelu');
  // relu6(z) = min(max(z, 0), 6).
  /** y = g(x); y may alias x. */
  activation(act: ActivationCode, x: Ptr, y: Ptr, m: number, n: number, alpha: number): void;
  /** y = g(x + bias) with bias broadcast over rows, one pass; y may alias x. x is not modified unless aliased. */
  biasActivation(act: ActivationCode, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number): void;
  /**
   * The training forward step of a layer that keeps Z (derivativeFromZ): z += bias, then a = g(z),
   * one pass. a must not alias z.
   */
  biasActivationKeep(act: ActivationCode, z: Ptr, bias: Ptr, a: Ptr, m: number, n: number, alpha: number): void;
  /**
   * dZ = dA ⊙ g'(Z), with g' written in terms of the output a = g(z):
   * sigmoid a(1−a), tanh 1−a², relu [a>0], leakyRelu a>0 ? 1 : alpha, linear 1,
   * softmax (row-wise Jacobian) dz = a ⊙ (dA − Σ_j dA_j a_j), elu a>0 ? 1 : a+1,
   * selu a>0 ? λ : a+λα, relu6 [0<a<6]; and for the activations of derivativeFromZ, `a` holds z:
   * softplus σ(z), swish σ(z)·(1 + z·(1−σ(z))), gelu Φ(z) + z·φ(z). dZ may alias dA.
   */
  activationBackward(act: ActivationCode, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number): void;

  // --- Losses over a batch of m rows and n outputs. Return the loss value, write its gradient.
  /**
   * Binary cross-entropy on sigmoid outputs, from the logits z (stable for any |z|):
   * returns mean over m·n of max(z,0) − z·y + log(1 + e^−|z|); writes dz = (a − y)/(m·n).
   * `a` = sigmoid(z) from the forward pass. dz may alias a, never z.
   */
  lossSigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  /**
   * Categorical cross-entropy on softmax outputs, from the logits z (log-sum-exp, max-subtracted):
   * returns mean over m of −Σ_j y_j log softmax(z)_j; writes dz = (a − y)/m. dz may alias a, never z.
   */
  lossSoftmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  /** Mean squared error: returns mean over m·n of (a − y)²; writes da = 2(a − y)/(m·n). da may alias a. */
  lossMse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number;
  /** Mean absolute error: returns mean over m·n of |a − y|; writes da = sign(a − y)/(m·n). da may alias a. */
  lossMae(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number;
  /**
   * Huber loss: returns mean over m·n of ½d² (|d| ≤ δ) or δ(|d| − ½δ), d = a − y; writes
   * da = clamp(d, −δ, δ)/(m·n). da may alias a.
   */
  lossHuber(a: Ptr, y: Ptr, da: Ptr, m: number, n: number, delta: number): number;
  /**
   * Correct predictions in a batch: n = 1 compares a ≥ 0.5 with y ≥ 0.5; n > 1 compares the argmax
   * of a row of a with the argmax of the row of y (first maximum wins).
   */
  countCorrect(a: Ptr, y: Ptr, m: number, n: number): number;

  // --- Data movement.
  /** dst row r = src row index[r] for r < count; rows are rowLen floats; index is an i32 array. */
  gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void;
  /** dst[i] = src[i] for i < n (no overlap). */
  copy(src: Ptr, dst: Ptr, n: number): void;
  /** x[i] = value for i < n. */
  fill(x: Ptr, n: number, value: number): void;
  /** 1 if every x[i] (i < n) is finite, else 0. */
  allFinite(x: Ptr, n: number): number;
  /**
   * The nonzero x[i] (i < n), or −1 when one is NaN or ±Infinity: the check of user inputs and
   * their density, which picks the sparse path, in one pass.
   */
  countNonzeroFinite(x: Ptr, n: number): number;

  // --- Optimizer updates, in place over n parameters. `l2` adds l2·w to the gradient first.
  /** w ← w − lr·g. */
  sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number): void;
  /** Momentum with bias correction: m ← βm + (1−β)g; w ← w − lr·m/(1−βᵗ). t ≥ 1. */
  momentum(w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number): void;
  /**
   * Adam (Kingma & Ba): m ← β1·m + (1−β1)g; v ← β2·v + (1−β2)g²;
   * w ← w − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ). t ≥ 1.
   */
  adam(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, t: number, l2: number,
  ): void;
  // The optimizers of TensorFlow.js and Keras (assembly/updates.ts, js-updates.ts). Their state is
  // stored flushed: a float below the smallest normal float32 (2^-126) is stored as +0.
  /**
   * SGD with momentum as tf.train.momentum: acc ← μ·acc + g'; w ← w − lr·acc, or with nesterov
   * w ← w − lr·(g' + μ·acc); g' = g + l2·w.
   */
  sgdMomentum(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, mu: number, nesterov: boolean, l2: number): void;
  /**
   * RMSProp as tf.train.rmsprop: ms ← ρ·ms + (1−ρ)·g²; d = √(ms + ε), or centered
   * mg ← ρ·mg + (1−ρ)·g, d = √(ms − mg² + ε); with mu > 0 mom ← μ·mom + lr·g/d, w ← w − mom, else
   * w ← w − lr·g/d. mom is used only when mu > 0, mg only when centered (pass 0 otherwise).
   */
  rmsprop(
    w: Ptr, g: Ptr, ms: Ptr, mom: Ptr, mg: Ptr, n: number, lr: number, rho: number, epsilon: number, mu: number, centered: boolean,
  ): void;
  /** Adagrad as tf.train.adagrad: acc ← acc + g²; w ← w − lr·g/√(acc + ε). */
  adagrad(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, epsilon: number): void;
  /** AdamW as Keras: Adam's m, v and w ← w − lr·wd·w − lr·m̂/(√v̂ + ε). t ≥ 1. */
  adamw(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, t: number,
  ): void;

  // --- Gradient clipping, in place over n floats.
  /** out[0] = Σ x[i]² (summed in float64, stored as float32). */
  sumSquares(x: Ptr, n: number, out: Ptr): void;
  /** x[i] ← s·x[i]. */
  scaleInPlace(x: Ptr, n: number, s: number): void;
  /** x[i] ← min(max(x[i], −c), c); NaN passes. */
  clampInPlace(x: Ptr, n: number, c: number): void;

  // --- Kernel regularization, l1·Σ|w| + l2·Σw² (Keras' L1L2), over n floats.
  /** dw[i] += l1·sign(w[i]) + 2·l2·w[i] (sign(0) = 0). */
  regularizerGradient(w: Ptr, dw: Ptr, n: number, l1: number, l2: number): void;
  /** out[0] = Σ l1·|w[i]| + l2·w[i]² (summed in float64, stored as float32). */
  regularizerPenalty(w: Ptr, n: number, l1: number, l2: number, out: Ptr): void;

  // --- Dropout.
  /**
   * Inverted dropout over n floats: y[i] = x[i]/(1 − rate) where element first + i is kept, else 0.
   * The mask is a hash of (seed, step, layer, first + i), the same bits on both backends, never
   * stored: the backward pass calls this again on the gradient. y may alias x. seed, step, layer
   * are int32.
   */
  dropout(x: Ptr, y: Ptr, n: number, first: number, rate: number, seed: number, step: number, layer: number): void;

  // --- Batch normalization over the m rows of an m×n block, one unit per column (assembly/batchnorm.ts).
  // The column vectors (mean, variance, invStd, gamma, beta, dgamma, dbeta, scale) are n floats.
  /**
   * Training forward: z = x + bias (written back into x; bias 0: none), per column the batch mean μ
   * and biased variance v = Σ(z − μ)²/m, invStd = 1/√(v + ε), xhat = (z − μ)·invStd,
   * y = xhat·γ + β. Writes mean, variance, invStd, xhat and y; xhat and y may each alias x, not each other.
   */
  batchNormTrain(
    x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, epsilon: number,
    mean: Ptr, variance: Ptr, invStd: Ptr, xhat: Ptr, y: Ptr,
  ): void;
  /**
   * Its backward pass from dy: dβ = Σ_rows dy, dγ = Σ_rows dy·xhat, and
   * dx = γ·invStd·(dy − dβ/m − xhat·dγ/m). dx may alias dy.
   */
  batchNormBackward(dy: Ptr, xhat: Ptr, m: number, n: number, gamma: Ptr, invStd: Ptr, dgamma: Ptr, dbeta: Ptr, dx: Ptr): void;
  /**
   * Inference from the moving statistics: y = (x + bias − μ)·s + β with s = γ/√(v + ε), written
   * to scale (bias 0: none). y may alias x.
   */
  batchNormInference(
    x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, mean: Ptr, variance: Ptr, epsilon: number, scale: Ptr, y: Ptr,
  ): void;
  /** moving ← moving − (moving − batch)·(1 − momentum) over n floats, as TF.js; 1 − momentum rounded to float32. */
  movingAverage(moving: Ptr, batch: Ptr, n: number, momentum: number): void;
}
