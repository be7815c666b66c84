/**
 * The kernel sequences of one batch: forward, loss, backward, update. Everything here works on
 * pointers laid out by plan.ts and allocates nothing, on the JS heap or in backend memory.
 *
 * From the math to the code (docs/ARCHITECTURE.md, 'Where the math lives'). The usual derivations
 * write samples as columns, Z = W·X + b with X [n_in × m]; here samples are rows (batch-first,
 * row-major), the transpose: X is [m × n_in], W [n_in × n_out].
 *
 *   columns                                    here (rows)                         kernel
 *   Z[l] = W[l]·A[l−1] + b[l]                  Z_l = A_{l−1}·W_l + b_l              gemmNN (sparseGemmNN), then bias
 *   A[l] = g(Z[l])                             A_l = g(Z_l)                         biasActivation
 *   dZ[L] = A[L] − Y, with 1/m on dW, db       dZ_L = (A_L − Y)/m (1/m folded in)   lossSigmoidBce / lossSoftmaxCce
 *   dW[l] = (1/m)·dZ[l]·A[l−1]ᵀ                dW_l = A_{l−1}ᵀ·dZ_l                 gemmTN (sparseGemmTN)
 *   db[l] = (1/m)·np.sum(dZ[l], axis=1)        db_l = Σ_rows dZ_l                   colSum
 *   dA[l−1] = W[l]ᵀ·dZ[l]                      dA_{l−1} = dZ_l·W_lᵀ                 gemmNTBackward: one
 *   dZ[l−1] = dA[l−1] * g'(Z[l−1])             dZ_{l−1} = dA_{l−1} ⊙ g'(Z_{l−1})    pass, g' (from A) fused
 *   w ← w − α·∇w (and momentum, Adam)          one call over all parameters        sgd / momentum / adam
 *
 * A batch normalization (docs/ARCHITECTURE.md, 'Batch normalization') of Z_l ('pre') or A_l
 * ('post'): y = γ·(x − μ_B)/σ_B + β in training (batchNormTrain; batchNormBackward through μ_B and
 * σ_B), with the moving statistics in inference (batchNormInference); the moving statistics take in
 * the batch's in applyUpdate (movingAverage), after the optimizer.
 */
import { ACTIVATION, type Ptr } from './backend/backend.js';
import { lossAndGradient, type LossName } from './losses.js';
import { ERROR_METRICS, METRIC_BITS } from './metrics.js';
import { applyOptimizer, type Optimizer } from './optimizers.js';
import { rowAt, type BatchBuffers, type PlannedModel } from './plan.js';
import { learningRateAt, type Schedule } from './schedules.js';

/** A model as the kernels see it. `step` counts optimizer updates (Adam's and momentum's t). */
export interface Network extends PlannedModel {
  step: number;
  /**
   * The learning rate of the next update when the optimizer has a constant one: compile sets it,
   * reduceLROnPlateau lowers it. Held in a field that first held null (sharedNumbers), so that
   * passing it to the kernels allocates nothing (docs/ARCHITECTURE.md, 'Number boxing').
   */
  lr: number;
  /** The optimizer's learning-rate schedule, which replaces lr (null without one). */
  schedule: Schedule | null;
  /** The model's seed as an int32: the dropout masks' seed for layers without their own. */
  seed: number;
  /** The user's switch for the sparse first layer (SparseInputs). */
  sparseInputs: SparseInputs;
  /** The density of the current (or last) call's inputs, NaN before the first; set by measureInputs. */
  inputDensity: number;
  /** Whether the current call runs the first layer's products on the sparse kernels. */
  sparseInput: boolean;
}

/**
 * 'auto' (the default): each fit, predict and evaluate measures the density of its inputs (the
 * share of nonzero elements) and runs the first layer's products on the sparse kernels when it is
 * at most SPARSE_MAX_DENSITY; false: always the dense kernels. The results are the same bits
 * either way (docs/ARCHITECTURE.md, 'Sparse inputs'); only the speed differs.
 */
export type SparseInputs = 'auto' | false;

/**
 * The input density up to which the sparse kernels beat the dense GEMM on the first layer's two
 * products (Z_1 = X·W_1 and dW_1 = Xᵀ·dZ_1 together), measured on one core with nonzeros placed at
 * random (bench/sparse.ts; images, whose zeros come in runs, do better): about 3× as fast at
 * MNIST's 19% on the 784→128 layer at batch 64; at 35% still 1.3–1.6× with 128 outputs (batch 64
 * and 256, 210 or 784 inputs) and level (0.95–1.1×) with 2 to 32; at 50% level or slower.
 */
export const SPARSE_MAX_DENSITY = 0.35;

/**
 * Sets the density of the call's inputs, `nonzero` of `elements` (counted by uploadRows in the pass
 * that checks them, plan.ts), and picks the first layer's kernels for the call (net.inputDensity,
 * net.sparseInput).
 */
export function measureInputs(net: Network, nonzero: number, elements: number): void {
  net.inputDensity = elements > 0 ? nonzero / elements : 0;
  net.sparseInput = net.sparseInputs === 'auto' && net.inputDensity <= SPARSE_MAX_DENSITY;
}

/**
 * Running sums over the batches of an epoch or an evaluation, updated in place. A class whose
 * fields only ever hold numbers, so that writing a double allocates nothing (docs/ARCHITECTURE.md,
 * 'Number boxing').
 */
export class Totals {
  /** Σ batch loss × batch rows. */
  loss = 0;
  correct = 0;
  /** Σ (a − y)² and Σ |a − y| over every output of every row (for the mse and mae metrics). */
  squaredError = 0;
  absoluteError = 0;
  /** The last batch's loss, left here rather than returned (docs/ARCHITECTURE.md, 'Number boxing'). */
  lastLoss = 0;
}

/**
 * Forward pass over m ≤ bufs.rows rows at x: A_L ends in bufs.acts[L−1], Z_L in bufs.logits.
 * `training` applies dropout (with the masks of step net.step) and normalises with the batch's
 * statistics; predict, evaluate and validation run without dropout, on the moving statistics.
 */
export function forward(net: Network, x: Ptr, m: number, bufs: BatchBuffers, training: boolean): void {
  const { backend, specs, mem } = net;
  const last = specs.length - 1;
  let input = x;
  for (let l = 0; l < last; l++) input = hiddenForward(net, l, input, m, bufs, training);
  const out = specs[last];
  if (out.norm === 'pre') {
    normalizedProduct(net, last, input, m, bufs, training, bufs.logits);
  } else {
    layerProduct(net, last, m, input, bufs.logits);
    backend.biasAdd(bufs.logits, mem.b[last], m, out.units);
  }
  backend.activation(out.code, bufs.logits, bufs.acts[last], m, out.units, out.alpha);
}

/** Hidden layer l on m rows at `input`: A_l into bufs.acts[l]; returns what the next layer reads. */
function hiddenForward(net: Network, l: number, input: Ptr, m: number, bufs: BatchBuffers, training: boolean): Ptr {
  const { backend, specs, mem } = net;
  const s = specs[l];
  const a = bufs.acts[l];
  const z = bufs.zs[l];
  if (s.norm === 'pre') {
    // The normalised Z goes where g reads it: into zs[l] when g′ reads z, else A's buffer.
    normalizedProduct(net, l, input, m, bufs, training, z !== 0 ? z : a);
    if (z !== 0) backend.activation(s.code, z, a, m, s.units, s.alpha);
    else if (s.code !== ACTIVATION.linear) backend.activation(s.code, a, a, m, s.units, s.alpha);
  } else if (z !== 0) {
    // Training a layer whose g' reads z: Z_l is kept beside A_l.
    layerProduct(net, l, m, input, z);
    backend.biasActivationKeep(s.code, z, mem.b[l], a, m, s.units, s.alpha);
  } else {
    layerProduct(net, l, m, input, a);
    backend.biasActivation(s.code, a, mem.b[l], a, m, s.units, s.alpha); // A_l replaces Z_l
  }
  let out = a;
  if (s.norm === 'post') {
    const n = s.units;
    if (training) {
      out = bufs.outs[l];
      backend.batchNormTrain(a, m, n, 0, mem.gamma[l], mem.beta[l], s.normEpsilon, mem.batchMean[l], mem.batchVariance[l],
        bufs.normScales[l], bufs.norms[l], out);
    } else {
      backend.batchNormInference(a, m, n, 0, mem.gamma[l], mem.beta[l], mem.movingMean[l], mem.movingVariance[l], s.normEpsilon,
        bufs.normScales[l], a);
    }
  }
  if (training && s.dropout > 0) {
    const dropped = bufs.outs[l];
    backend.dropout(out, dropped, m * s.units, 0, s.dropout, s.dropoutSeed ?? net.seed, net.step, l);
    out = dropped;
  }
  return out;
}

/**
 * Z_l = A_{l−1}·W_l + b_l normalised into y (before the activation): in training with the batch's
 * statistics (Z_l in bufs.norms[l], then x̂ over it; the batch mean and variance into the grads
 * part, for the update), else with the moving ones.
 */
function normalizedProduct(net: Network, l: number, input: Ptr, m: number, bufs: BatchBuffers, training: boolean, y: Ptr): void {
  const { backend, mem } = net;
  const s = net.specs[l];
  if (training) {
    const z = bufs.norms[l];
    layerProduct(net, l, m, input, z);
    backend.batchNormTrain(z, m, s.units, mem.b[l], mem.gamma[l], mem.beta[l], s.normEpsilon, mem.batchMean[l], mem.batchVariance[l],
      bufs.normScales[l], z, y);
  } else {
    layerProduct(net, l, m, input, y);
    backend.batchNormInference(y, m, s.units, mem.b[l], mem.gamma[l], mem.beta[l], mem.movingMean[l], mem.movingVariance[l],
      s.normEpsilon, bufs.normScales[l], y);
  }
}

/** Z_l = A_{l−1}·W_l into z: on the sparse kernel for the first layer when the call's inputs are sparse. */
function layerProduct(net: Network, l: number, m: number, input: Ptr, z: Ptr): void {
  const s = net.specs[l];
  if (l === 0 && net.sparseInput) net.backend.sparseGemmNN(m, s.units, s.inputUnits, input, net.mem.w[l], z, false);
  else net.backend.gemmNN(m, s.units, s.inputUnits, input, net.mem.w[l], z, false);
}

/** Loss of the batch after `forward` into totals.lastLoss; writes dZ_L into bufs.delta. */
export function batchLoss(net: Network, loss: LossName, y: Ptr, m: number, bufs: BatchBuffers, totals: Totals): void {
  const { backend, specs, mem } = net;
  const last = specs.length - 1;
  lossAndGradient(backend, loss, specs[last], bufs.logits, bufs.acts[last], y, bufs.delta, m, totals);
  // Keras adds the kernel regularizers' penalties to the loss it reports, in training and evaluation.
  for (let l = 0; l <= last; l++) {
    const s = specs[l];
    if (s.l1 === 0 && s.l2 === 0) continue;
    backend.regularizerPenalty(mem.w[l], s.inputUnits * s.units, s.l1, s.l2, mem.scratch);
    totals.lastLoss += backend.f32[mem.scratch >>> 2];
  }
}

/** Backward pass from dZ_L in bufs.delta: fills the grads region (dW_l, db_l, dγ_l, dβ_l for every layer). */
export function backward(net: Network, x: Ptr, m: number, bufs: BatchBuffers): void {
  const { backend, specs, mem } = net;
  let dz = bufs.delta;
  let next = bufs.spare;
  for (let l = specs.length - 1; l >= 0; l--) {
    const s = specs[l];
    // dz is the gradient of the normalised Z: through the batch normalization to Z_l's.
    if (s.norm === 'pre') normBackward(net, l, m, bufs, dz);
    // The layer's input: A_{l−1}, or its normalised or dropped copy.
    const input = l === 0 ? x : bufs.outs[l - 1] !== 0 ? bufs.outs[l - 1] : bufs.acts[l - 1];
    if (l === 0 && net.sparseInput) backend.sparseGemmTN(s.inputUnits, s.units, m, input, dz, mem.dw[l], false);
    else backend.gemmTN(s.inputUnits, s.units, m, input, dz, mem.dw[l], false);
    if (s.l1 !== 0 || s.l2 !== 0) backend.regularizerGradient(mem.w[l], mem.dw[l], s.inputUnits * s.units, s.l1, s.l2);
    backend.colSum(dz, m, s.units, mem.db[l], false);
    if (l === 0) break; // no gradient for the inputs
    backThrough(net, l, m, bufs, dz, next);
    const t = dz;
    dz = next;
    next = t;
  }
}

/** dZ_{l−1} into `next` from dZ_l in dz: back through W_l, what follows layer l − 1, and its g′. */
function backThrough(net: Network, l: number, m: number, bufs: BatchBuffers, dz: Ptr, next: Ptr): void {
  const { backend, specs, mem } = net;
  const s = specs[l];
  const prev = specs[l - 1];
  const zPrev = bufs.zs[l - 1];
  // g' is written from A_{l−1}, or from Z_{l−1} where the layer keeps it.
  const from = zPrev !== 0 ? zPrev : bufs.acts[l - 1];
  if (bufs.outs[l - 1] === 0) {
    backend.gemmNTBackward(prev.code, m, s.inputUnits, s.units, dz, mem.w[l], from, next, prev.alpha);
    return;
  }
  // Through dropout and a batch normalization of A_{l−1}: the product, the same mask and scale on
  // it, the normalization's backward pass, then g'.
  backend.gemmNT(m, s.inputUnits, s.units, dz, mem.w[l], next, false);
  if (prev.dropout > 0) backend.dropout(next, next, m * s.inputUnits, 0, prev.dropout, prev.dropoutSeed ?? net.seed, net.step, l - 1);
  if (prev.norm === 'post') normBackward(net, l - 1, m, bufs, next);
  backend.activationBackward(prev.code, from, next, next, m, s.inputUnits, prev.alpha);
}

/** In place over d: the gradient of layer l's normalised values becomes that of its input; dγ_l and dβ_l. */
function normBackward(net: Network, l: number, m: number, bufs: BatchBuffers, d: Ptr): void {
  const { mem } = net;
  net.backend.batchNormBackward(d, bufs.norms[l], m, net.specs[l].units, mem.gamma[l], bufs.normScales[l], mem.dgamma[l], mem.dbeta[l], d);
}

/**
 * The first half of a training step on m rows at x, y: forward, loss, backward. Fills the gradient
 * region and leaves the batch's loss in totals.lastLoss; nothing is updated yet, so the caller can
 * check the loss and gradients (gradientsFinite) before applyUpdate. `metrics` (bits, metrics.ts)
 * says what else to add to totals.
 */
export function computeBatch(
  net: Network, loss: LossName, x: Ptr, y: Ptr, m: number, bufs: BatchBuffers, metrics: number, totals: Totals,
): void {
  forward(net, x, m, bufs, true);
  addMetrics(net, y, m, bufs, metrics, totals);
  batchLoss(net, loss, y, m, bufs, totals);
  totals.loss += totals.lastLoss * m;
  backward(net, x, m, bufs);
}

/** Adds the batch's correct rows and errors (as `metrics` asks) to totals, after `forward`. */
function addMetrics(net: Network, y: Ptr, m: number, bufs: BatchBuffers, metrics: number, totals: Totals): void {
  if (metrics === 0) return;
  const { backend, specs } = net;
  const units = specs[specs.length - 1].units;
  const a = bufs.acts[specs.length - 1];
  if ((metrics & METRIC_BITS.acc) !== 0) totals.correct += backend.countCorrect(a, y, m, units);
  if ((metrics & ERROR_METRICS) !== 0) addErrors(backend.f32, a >>> 2, y >>> 2, m * units, totals);
}

/**
 * Σ (a − y)² and Σ |a − y| over n outputs, into totals. A loop over the output layer only (m × units
 * values, next to the m × units × fan-in of its product), so it runs here rather than as a kernel.
 */
function addErrors(f32: Float32Array, a: number, y: number, n: number, totals: Totals): void {
  let squared = 0;
  let absolute = 0;
  for (let i = 0; i < n; i++) {
    const d = f32[a + i] - f32[y + i];
    squared += d * d;
    absolute += Math.abs(d);
  }
  totals.squaredError += squared;
  totals.absoluteError += absolute;
}

/** Whether every gradient is finite: one allFinite call over the whole region, cheap next to the GEMMs. */
export function gradientsFinite(net: Network): boolean {
  return net.backend.allFinite(net.mem.grads, net.mem.layout.floats) !== 0;
}

/**
 * The second half of a step: one optimizer call over all parameters, at step t + 1; then each batch
 * normalization's moving mean and variance take in the batch's, which the forward pass left in the
 * grads part (one call covers both: they are adjacent).
 */
export function applyUpdate(net: Network, optimizer: Optimizer): void {
  const { backend, specs, mem } = net;
  // A schedule's step is Keras' `iterations`: the updates before this one.
  const lr = net.schedule === null ? net.lr : learningRateAt(net.schedule, net.step);
  net.step += 1;
  applyOptimizer(backend, optimizer, mem, mem.layout.floats, net.step, lr);
  for (let l = 0; l < specs.length; l++) {
    const s = specs[l];
    if (s.norm === 'none') continue;
    const floats = mem.layout.varianceOffsets[l] + s.units - mem.layout.meanOffsets[l];
    backend.movingAverage(mem.movingMean[l], mem.batchMean[l], floats, s.normMomentum);
  }
}

/** Copies rows [from, to) of the inputs into backend memory, checks them, and returns their nonzero elements. */
export type RowUpload = (from: number, to: number) => number;

/**
 * Loss (and the metrics in `metrics`, bits) over `rows` rows at x, y, in batches of bufs.rows: in
 * place (fit's validation), or copied in as they go by `upload` (evaluate, see eachBatch).
 */
export function evaluateRows(
  net: Network, loss: LossName, x: Ptr, y: Ptr, rows: number, bufs: BatchBuffers, metrics: number, totals: Totals,
  upload?: RowUpload,
): void {
  const { specs } = net;
  const inWidth = specs[0].inputUnits;
  const out = specs[specs.length - 1];
  eachBatch(net, rows, bufs, upload, (start, m) => {
    const yb = rowAt(y, start, out.units);
    forward(net, rowAt(x, start, inWidth), m, bufs, false);
    addMetrics(net, yb, m, bufs, metrics, totals);
    batchLoss(net, loss, yb, m, bufs, totals);
    totals.loss += totals.lastLoss * m;
  });
}

/** Outputs A_L for `rows` rows at x, copied in as they go by `upload` (see eachBatch), into `out` [rows × units]. */
export function predictRows(net: Network, x: Ptr, rows: number, bufs: BatchBuffers, out: Float32Array, upload: RowUpload): void {
  const { backend, specs } = net;
  const inWidth = specs[0].inputUnits;
  const units = specs[specs.length - 1].units;
  const a = bufs.acts[specs.length - 1] >>> 2;
  eachBatch(net, rows, bufs, upload, (start, m) => {
    forward(net, rowAt(x, start, inWidth), m, bufs, false);
    out.set(backend.f32.subarray(a, a + m * units), start * units);
  });
}

/**
 * Runs `batch(start, m)` over `rows` rows in batches of bufs.rows. With `upload`, each batch's rows
 * are copied in while the batch before runs (backend.overlap: on several threads the workers start
 * on its first product meanwhile, and the copy, on one thread only, no longer waits in front of the
 * whole call); each batch takes the first layer's sparse or dense kernels by its own density (the
 * same bits either way), and the call's density is measured at the end, once every row is checked.
 */
function eachBatch(net: Network, rows: number, bufs: BatchBuffers, upload: RowUpload | undefined, batch: (start: number, m: number) => void): void {
  if (upload === undefined) {
    for (let start = 0; start < rows; start += bufs.rows) batch(start, Math.min(bufs.rows, rows - start));
    return;
  }
  const { backend } = net;
  const inWidth = net.specs[0].inputUnits;
  let nonzero = 0;
  let next = upload(0, Math.min(bufs.rows, rows));
  // A task left behind by a call that threw must not copy rows into memory freed since.
  let live = true;
  try {
    for (let start = 0; start < rows; start += bufs.rows) {
      const m = Math.min(bufs.rows, rows - start);
      nonzero += next;
      measureInputs(net, next, m * inWidth);
      const end = start + m;
      if (end < rows) backend.overlap(() => { if (live) next = upload(end, Math.min(end + bufs.rows, rows)); });
      batch(start, m);
      backend.settle();
    }
  } finally {
    live = false;
  }
  measureInputs(net, nonzero, rows * inWidth);
}
