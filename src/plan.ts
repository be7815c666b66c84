/**
 * The memory plan (docs/ARCHITECTURE.md, 'The memory plan'): where every buffer lives in backend memory.
 *
 * Model region, laid out once when the model is built and kept until dispose, one block of five
 * equal parts in this order:
 *   params  [W1, b1, (γ1, β1), W2, b2, …]  the trainable ones contiguous, so one optimizer call
 *           updates the whole model; then the tail: batch normalization's moving mean and variance
 *           (and γ or β held fixed), which the optimizer does not touch
 *   state0  optimizer state (momentum's m, Adam's m), same layout
 *   state1  optimizer state (Adam's v), same layout
 *   state2  optimizer state (centered RMSProp with momentum: mg), same layout
 *   grads   same layout as params; its tail holds the batch's mean and variance at the moving ones' offsets
 *   scratch four floats (clipping's squared norm)
 * Everything an update writes (params with the moving statistics, then the state its optimizer
 * keeps) is thus one span from params, which the non-finite guard (guard.ts) backs up and checks
 * with one kernel call each.
 * Each tensor starts on a 16-byte boundary; the few padding floats stay zero in params, grads and
 * state alike, so the optimizer leaves them at zero.
 *
 * Per-call region (fit, predict, evaluate), allocated above the model region after backend.mark()
 * and freed with release(): the data set, copied in once; activations for the largest batch; the
 * two dZ buffers the backward pass alternates between. A training step then allocates nothing.
 *
 * Sizes first: every layout below has a function that says how many bytes it will take
 * (modelBytes, batchBytes, allocBytes), and checkMemory refuses a call whose parts do not fit in
 * what the backend can still hold, before anything is allocated.
 */
import { derivativeFromZ, type Backend, type Ptr } from './backend/backend.js';
import { notFiniteError, type Rows } from './data.js';
import { SimdnetError } from './errors.js';
import type { LayerSpec } from './layers.js';
import type { UpdateMemory } from './optimizers.js';

/** Floats per 16 bytes: tensor starts are rounded up to this. */
const ALIGN_FLOATS = 4;

/** What a tensor of the model is, by TF.js' weight names. */
export type TensorKind = 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';

/** One tensor: its layer, what it is, and where it sits in each part of the model region. */
export interface TensorSlot {
  readonly layer: number;
  readonly kind: TensorKind;
  /** Float offset from the start of a part. */
  readonly offset: number;
  readonly size: number;
  /** Updated by the optimizer (W, b, and γ, β when learned); the moving statistics are not. */
  readonly trainable: boolean;
}

export interface ParamLayout {
  /** Float offsets of W_l and b_l from the start of a part. */
  readonly weightOffsets: readonly number[];
  readonly biasOffsets: readonly number[];
  /**
   * Per layer with batch normalization, its γ, β, moving mean and moving variance (-1 for layers
   * without): γ and β among the trainable parameters when learned (scale, center), else in the tail,
   * held at 1 and 0.
   */
  readonly gammaOffsets: readonly number[];
  readonly betaOffsets: readonly number[];
  readonly meanOffsets: readonly number[];
  readonly varianceOffsets: readonly number[];
  /** The tensors getWeights() returns, in its order: per layer W, b, then γ, β, moving mean, moving variance (TF.js'). */
  readonly tensors: readonly TensorSlot[];
  /** Trainable floats, padding included: what an optimizer call covers, from the start of a part. */
  readonly floats: number;
  /** Floats in each part: the trainable ones, then the tail (batch normalization's statistics, fixed γ and β). */
  readonly partFloats: number;
  /** Trainable parameters, padding excluded. */
  readonly count: number;
  /** Every tensor's values, trainable or not (what countParams(), getWeights() and files see), padding excluded. */
  readonly total: number;
}

export function layoutParams(specs: readonly LayerSpec[]): ParamLayout {
  const none = (): number[] => specs.map(() => -1);
  const offsets = { kernel: none(), bias: none(), gamma: none(), beta: none(), moving_mean: none(), moving_variance: none() };
  const placed: TensorSlot[] = [];
  let at = 0;
  const place = (layer: number, kind: TensorKind, size: number, trainable: boolean): void => {
    offsets[kind][layer] = at;
    placed.push({ layer, kind, offset: at, size, trainable });
    at = alignUp(at + size);
  };
  specs.forEach((s, l) => {
    place(l, 'kernel', s.inputUnits * s.units, true);
    place(l, 'bias', s.units, true);
    if (s.norm !== 'none' && s.normScale) place(l, 'gamma', s.units, true);
    if (s.norm !== 'none' && s.normCenter) place(l, 'beta', s.units, true);
  });
  const floats = at;
  // The tail: moving mean and variance adjacent (one moving-average call covers both), fixed γ and β.
  specs.forEach((s, l) => {
    if (s.norm === 'none') return;
    place(l, 'moving_mean', s.units, false);
    place(l, 'moving_variance', s.units, false);
    if (!s.normScale) place(l, 'gamma', s.units, false);
    if (!s.normCenter) place(l, 'beta', s.units, false);
  });
  const order: TensorKind[] = ['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'];
  // A fixed γ or β is no tensor of the model: TF.js has no weight for it.
  const tensors = placed
    .filter((t) => t.trainable || t.kind === 'moving_mean' || t.kind === 'moving_variance')
    .sort((a, b) => a.layer - b.layer || order.indexOf(a.kind) - order.indexOf(b.kind));
  const sum = (list: readonly TensorSlot[]): number => list.reduce((n, t) => n + t.size, 0);
  return {
    weightOffsets: offsets.kernel, biasOffsets: offsets.bias,
    gammaOffsets: offsets.gamma, betaOffsets: offsets.beta, meanOffsets: offsets.moving_mean, varianceOffsets: offsets.moving_variance,
    tensors, floats, partFloats: at, count: sum(tensors.filter((t) => t.trainable)), total: sum(tensors),
  };
}

/**
 * UpdateMemory's parts (params, grads, the three state slots: the third for centered RMSProp with
 * momentum; scratch: four floats after the grads, for kernels that leave a value, such as
 * clipping's squared norm), and the layout with a pointer per layer.
 */
export interface ModelMemory extends UpdateMemory {
  readonly layout: ParamLayout;
  /** Per layer: W_l, b_l and their gradients dW_l, db_l. */
  readonly w: readonly Ptr[];
  readonly b: readonly Ptr[];
  readonly dw: readonly Ptr[];
  readonly db: readonly Ptr[];
  /**
   * Per layer with batch normalization (0 for the others): γ, β and their gradients (a fixed γ or
   * β gets its gradient in the grads part's tail, where nothing reads it), the moving mean and
   * variance, and the batch's mean and variance, which the training forward pass leaves in the
   * grads part at the moving statistics' offsets and the update folds into them.
   */
  readonly gamma: readonly Ptr[];
  readonly beta: readonly Ptr[];
  readonly dgamma: readonly Ptr[];
  readonly dbeta: readonly Ptr[];
  readonly movingMean: readonly Ptr[];
  readonly movingVariance: readonly Ptr[];
  readonly batchMean: readonly Ptr[];
  readonly batchVariance: readonly Ptr[];
}

export function allocateModel(backend: Backend, specs: readonly LayerSpec[]): ModelMemory {
  const layout = layoutParams(specs);
  const part = layout.partFloats;
  // Three state slots are reserved whatever the optimizer, so compile never reshapes memory.
  const params = backend.alloc(5 * part + ALIGN_FLOATS);
  const state0 = params + 4 * part;
  const state1 = state0 + 4 * part;
  const state2 = state1 + 4 * part;
  const grads = state2 + 4 * part;
  const scratch = grads + 4 * part;
  const at = (base: Ptr, offsets: readonly number[]): Ptr[] => offsets.map((o) => (o < 0 ? 0 : base + 4 * o));
  return {
    layout, params, grads, state0, state1, state2, scratch,
    w: at(params, layout.weightOffsets),
    b: at(params, layout.biasOffsets),
    dw: at(grads, layout.weightOffsets),
    db: at(grads, layout.biasOffsets),
    gamma: at(params, layout.gammaOffsets),
    beta: at(params, layout.betaOffsets),
    dgamma: at(grads, layout.gammaOffsets),
    dbeta: at(grads, layout.betaOffsets),
    movingMean: at(params, layout.meanOffsets),
    movingVariance: at(params, layout.varianceOffsets),
    batchMean: at(grads, layout.meanOffsets),
    batchVariance: at(grads, layout.varianceOffsets),
  };
}

/**
 * The model's parameters as a model starts: W from `initialize` (drawn in TypeScript), b and β 0, γ
 * and the moving variance 1, the moving mean 0; the padding 0. One part's floats.
 */
export function initialParams(
  layout: ParamLayout, specs: readonly LayerSpec[], initialize: (spec: LayerSpec, out: Float32Array, offset: number) => void,
): Float32Array {
  const initial = new Float32Array(layout.partFloats);
  specs.forEach((spec, l) => {
    initialize(spec, initial, layout.weightOffsets[l]);
    if (spec.norm === 'none') return;
    initial.fill(1, layout.gammaOffsets[l], layout.gammaOffsets[l] + spec.units);
    initial.fill(1, layout.varianceOffsets[l], layout.varianceOffsets[l] + spec.units);
  });
  return initial;
}

/** Bytes `backend.alloc(count)` takes: count floats, rounded up to the 16-byte alignment. */
export function allocBytes(count: number): number {
  return Math.ceil((4 * count) / 16) * 16;
}

/** Bytes allocateModel takes: weights, gradients, the three optimizer slots and the scratch. */
export function modelBytes(specs: readonly LayerSpec[]): number {
  return allocBytes(5 * layoutParams(specs).partFloats + ALIGN_FLOATS);
}

/** A call's memory by part, as checkMemory reports it: [what, bytes]. */
export type MemoryParts = readonly (readonly [string, number])[];

/**
 * Refuses, before anything is allocated, a call whose parts do not fit beside what the backend
 * already holds: a SimdnetError naming `argument`, with the bytes needed against the limit, and
 * `advice`. The backend and every other model are untouched.
 */
export function checkMemory(backend: Backend, where: string, argument: string, parts: MemoryParts, advice: string): void {
  const needed = parts.reduce((sum, [, bytes]) => sum + bytes, 0);
  const used = backend.mark();
  if (used + needed <= backend.maxBytes) return;
  const list = parts.filter(([, bytes]) => bytes > 0).map(([what, bytes]) => `${what} ${formatBytes(bytes)}`).join(', ');
  throw new SimdnetError(
    argument,
    `${where}: needs ${formatBytes(needed)} of backend memory (${list}) beside the ${formatBytes(used)} already in use, ` +
      `more than the ${formatBytes(backend.maxBytes)} the ${backend.name} backend can hold; ${advice}`,
  );
}

/** "1.21 GiB (1,297,416,192 bytes)". */
export function formatBytes(bytes: number): string {
  const [unit, size] = bytes >= 2 ** 30 ? ['GiB', 2 ** 30] : bytes >= 2 ** 20 ? ['MiB', 2 ** 20] : ['KiB', 2 ** 10];
  const exact = Number.isSafeInteger(bytes) ? ` (${String(bytes).replace(/\B(?=(\d{3})+$)/g, ',')} bytes)` : '';
  return `${(bytes / size).toFixed(2)} ${unit}${exact}`;
}

/** Buffers for batches of up to `rows` rows. */
export interface BatchBuffers {
  readonly rows: number;
  /**
   * A_l per layer. Hidden layers keep only A (their Z is overwritten in place: activationBackward
   * needs just A); the last entry is A_L, with the output logits Z_L kept apart in `logits`
   * because the stable cross-entropies read them.
   */
  readonly acts: readonly Ptr[];
  /**
   * Z_l per layer, for training: a hidden layer whose g' is written from z (derivativeFromZ:
   * softplus, swish, gelu) keeps Z_l here beside A_l; 0 for every other layer, for the output layer
   * (its Z is in `logits`) and when there is no backward pass.
   */
  readonly zs: readonly Ptr[];
  /**
   * For training: the layer's output as the next layer reads it, where that is not A_l (kept for
   * g′): A_l normalised by a batchNormalization after the activation ('post'), and dropped and
   * rescaled by a dropout layer (in place over the normalised copy); 0 for every other layer.
   */
  readonly outs: readonly Ptr[];
  /**
   * For training, a layer with batch normalization: x̂ = (z − μ)/σ, which its backward pass reads
   * ('pre': written over Z_l; 'post': beside A_l); 0 for every other layer.
   */
  readonly norms: readonly Ptr[];
  /**
   * A layer with batch normalization, in every call: n floats, 1/σ of the batch in training (kept
   * for the backward pass), γ/√(v + ε) of the moving variance in inference; 0 for other layers.
   */
  readonly normScales: readonly Ptr[];
  readonly logits: Ptr;
  /** The gathered batch of inputs and labels (0 when batches are read in place). */
  readonly x: Ptr;
  readonly y: Ptr;
  /** dZ buffers of rows × widest layer; the backward pass alternates between them (0 if unused). */
  readonly delta: Ptr;
  readonly spare: Ptr;
}

export interface BatchNeeds {
  /** Shuffled training gathers rows into x and y. */
  gather: boolean;
  /** A loss needs dZ_L; the backward pass also needs the spare dZ buffer. */
  loss: boolean;
  backward: boolean;
}

/**
 * BatchBuffers as a class, so that a fit can lay out new buffers in the object of the previous fit
 * (allocateBatch's `into`) and the steps' optimized code survives (docs/ARCHITECTURE.md, 'Number boxing').
 */
export class BatchBufferSet implements BatchBuffers {
  rows = 0;
  acts: Ptr[] = [];
  zs: Ptr[] = [];
  outs: Ptr[] = [];
  norms: Ptr[] = [];
  normScales: Ptr[] = [];
  logits: Ptr = 0;
  x: Ptr = 0;
  y: Ptr = 0;
  delta: Ptr = 0;
  spare: Ptr = 0;
}

/** Whether a training layer keeps Z_l beside A_l: a hidden layer whose g′ is written from z. */
function keepsZ(specs: readonly LayerSpec[], l: number, needs: BatchNeeds): boolean {
  return needs.backward && l < specs.length - 1 && derivativeFromZ(specs[l].code);
}

/** Whether a training layer's output, as the next layer reads it, is a copy of A_l. */
function hasOut(s: LayerSpec, needs: BatchNeeds): boolean {
  return needs.backward && (s.dropout > 0 || s.norm === 'post');
}

/** Bytes allocateBatch takes for the same arguments. */
export function batchBytes(specs: readonly LayerSpec[], rows: number, needs: BatchNeeds): number {
  const last = specs[specs.length - 1];
  const widest = Math.max(...specs.map((s) => s.units));
  let bytes = allocBytes(rows * last.units);
  specs.forEach((s, l) => {
    bytes += allocBytes(rows * s.units);
    if (keepsZ(specs, l, needs)) bytes += allocBytes(rows * s.units);
    if (hasOut(s, needs)) bytes += allocBytes(rows * s.units);
    if (s.norm !== 'none') bytes += allocBytes(s.units) + (needs.backward ? allocBytes(rows * s.units) : 0);
  });
  if (needs.gather) bytes += allocBytes(rows * specs[0].inputUnits) + allocBytes(rows * last.units);
  if (needs.loss || needs.backward) bytes += allocBytes(rows * widest);
  if (needs.backward && specs.length > 1) bytes += allocBytes(rows * widest);
  return bytes;
}

/** Buffers for batches of up to `rows` rows, written into `into` when given (else a new object). */
export function allocateBatch(
  backend: Backend, specs: readonly LayerSpec[], rows: number, needs: BatchNeeds, into: BatchBufferSet = new BatchBufferSet(),
): BatchBuffers {
  const last = specs[specs.length - 1];
  const widest = Math.max(...specs.map((s) => s.units));
  const each = (list: Ptr[], size: (s: LayerSpec, l: number) => number): void => {
    list.length = 0;
    specs.forEach((s, l) => list.push(size(s, l) > 0 ? backend.alloc(size(s, l)) : 0));
  };
  into.rows = rows;
  each(into.acts, (s) => rows * s.units);
  each(into.zs, (s, l) => (keepsZ(specs, l, needs) ? rows * s.units : 0));
  each(into.outs, (s) => (hasOut(s, needs) ? rows * s.units : 0));
  each(into.norms, (s) => (needs.backward && s.norm !== 'none' ? rows * s.units : 0));
  each(into.normScales, (s) => (s.norm !== 'none' ? s.units : 0));
  into.logits = backend.alloc(rows * last.units);
  into.x = needs.gather ? backend.alloc(rows * specs[0].inputUnits) : 0;
  into.y = needs.gather ? backend.alloc(rows * last.units) : 0;
  into.delta = needs.loss || needs.backward ? backend.alloc(rows * widest) : 0;
  into.spare = needs.backward && specs.length > 1 ? backend.alloc(rows * widest) : 0;
  return into;
}

/** A model's layers with the memory laid out for them. */
export interface PlannedModel {
  readonly backend: Backend;
  readonly specs: readonly LayerSpec[];
  readonly mem: ModelMemory;
}

/**
 * The part at base without padding, tensor after tensor in getWeights() order: every tensor
 * (params), or only the trainable ones (`trainable`: grads and optimizer state, which the moving
 * statistics have none of).
 */
export function readFlat(net: PlannedModel, base: Ptr, trainable = false): Float32Array {
  const { backend, mem } = net;
  const tensors = mem.layout.tensors.filter((t) => t.trainable || !trainable);
  const out = new Float32Array(trainable ? mem.layout.count : mem.layout.total);
  let at = 0;
  for (const { offset, size } of tensors) {
    const from = (base >>> 2) + offset;
    out.set(backend.f32.subarray(from, from + size), at);
    at += size;
  }
  return out;
}

/** The inverse of readFlat: flat tensors into the padded part at base. */
export function writeFlat(net: PlannedModel, base: Ptr, flat: Float32Array, trainable = false): void {
  const { backend, mem } = net;
  let at = 0;
  for (const { offset, size } of mem.layout.tensors.filter((t) => t.trainable || !trainable)) {
    backend.f32.set(flat.subarray(at, at + size), (base >>> 2) + offset);
    at += size;
  }
}

/** The address of row `row` of a row-major f32 matrix `width` floats wide at `base`. */
export function rowAt(base: Ptr, row: number, width: number): Ptr {
  return base + 4 * row * width;
}

/** Copies rows into a fresh allocation and returns its pointer (read the view after alloc: it may grow). */
export function upload(backend: Backend, data: Float32Array): Ptr {
  const ptr = backend.alloc(data.length, false); // overwritten whole just below: no zero-fill first
  backend.f32.set(data, ptr >>> 2);
  return ptr;
}

/** Input rows in backend memory, and how many of their elements are nonzero (their density, network.ts). */
export interface UploadedRows {
  ptr: Ptr;
  nonzero: number;
}

/**
 * Floats uploadRows copies and scans at a time: 64 KiB, read back while still in the core's cache.
 * Scanning the whole copy afterwards read it from memory again: copying and scanning 8,000 MNIST
 * rows (25 MB) took 3.1 ms that way and 2.4 ms in chunks (Intel Xeon). The scan runs on the
 * calling thread, also with threads: other cores would have to fetch the chunk from this one's cache.
 */
const UPLOAD_CHUNK = 1 << 14;

/**
 * upload, chunk by chunk each followed by the backend's countNonzeroFinite kernel: the finiteness
 * check of user inputs and the count of their nonzeros. SIMD wasm checks a data set several times
 * faster than a JS loop, and fit checks on every call. Throws (naming `where` and `arg`) on NaN or
 * ±Infinity; the caller's mark/release frees the copy.
 */
export function uploadRows(backend: Backend, rows: Rows, where: string, arg: string): UploadedRows {
  const ptr = backend.alloc(rows.data.length, false); // overwritten whole just below: no zero-fill first
  return { ptr, nonzero: uploadRowRange(backend, rows, ptr, 0, rows.rows, where, arg) };
}

/**
 * uploadRows for rows [from, to) of `rows` into their places in an allocation of all of them at
 * ptr; returns their nonzero elements (predict streams its rows in this way, network.ts).
 */
export function uploadRowRange(backend: Backend, rows: Rows, ptr: Ptr, from: number, to: number, where: string, arg: string): number {
  const { data, cols } = rows;
  const f32 = backend.f32;
  const end = to * cols;
  let nonzero = 0;
  for (let at = from * cols; at < end; at += UPLOAD_CHUNK) {
    const count = Math.min(UPLOAD_CHUNK, end - at);
    f32.set(data.subarray(at, at + count), (ptr >>> 2) + at);
    const found = backend.countNonzeroFinite(ptr + 4 * at, count);
    if (found < 0) throw notFiniteError(where, arg, rows);
    nonzero += found;
  }
  return nonzero;
}

function alignUp(floats: number): number {
  return Math.ceil(floats / ALIGN_FLOATS) * ALIGN_FLOATS;
}
