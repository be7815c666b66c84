/**
 * The memory plan (docs/ARCHITECTURE.md, 'The memory plan'): where every buffer lives in backend memory.
 *
 * Model region, laid out once when the model is built and kept until dispose, one block in this order:
 *   params  [W1, b1, W2, b2, …]   all contiguous, so one optimizer call updates the whole model
 *   state0  optimizer state (momentum's m, Adam's m), same layout
 *   state1  optimizer state (Adam's v), same layout
 *   state2  optimizer state (centered RMSProp with momentum: mg), same layout
 *   grads   same layout as params
 *   scratch four floats (clipping's squared norm)
 * Everything an update writes (params, then the state its optimizer keeps) is thus one span from
 * params, which the non-finite guard (guard.ts) backs up and checks with one kernel call each.
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

export interface ParamLayout {
  /** Float offsets of W_l and b_l from the start of the region. */
  readonly weightOffsets: readonly number[];
  readonly biasOffsets: readonly number[];
  /** Floats in the region, padding included: what an optimizer call covers. */
  readonly floats: number;
  /** Trainable parameters, padding excluded. */
  readonly count: number;
}

export function layoutParams(specs: readonly LayerSpec[]): ParamLayout {
  const weightOffsets: number[] = [];
  const biasOffsets: number[] = [];
  let at = 0;
  let count = 0;
  for (const spec of specs) {
    weightOffsets.push(at);
    at = alignUp(at + spec.inputUnits * spec.units);
    biasOffsets.push(at);
    at = alignUp(at + spec.units);
    count += spec.inputUnits * spec.units + spec.units;
  }
  return { weightOffsets, biasOffsets, floats: at, count };
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
}

export function allocateModel(backend: Backend, specs: readonly LayerSpec[]): ModelMemory {
  const layout = layoutParams(specs);
  // Three state slots are reserved whatever the optimizer, so compile never reshapes memory.
  const params = backend.alloc(5 * layout.floats + ALIGN_FLOATS);
  const state0 = params + 4 * layout.floats;
  const state1 = state0 + 4 * layout.floats;
  const state2 = state1 + 4 * layout.floats;
  const grads = state2 + 4 * layout.floats;
  const scratch = grads + 4 * layout.floats;
  const at = (base: Ptr, offsets: readonly number[]): Ptr[] => offsets.map((o) => base + 4 * o);
  return {
    layout, params, grads, state0, state1, state2, scratch,
    w: at(params, layout.weightOffsets),
    b: at(params, layout.biasOffsets),
    dw: at(grads, layout.weightOffsets),
    db: at(grads, layout.biasOffsets),
  };
}

/** Bytes `backend.alloc(count)` takes: count floats, rounded up to the 16-byte alignment. */
export function allocBytes(count: number): number {
  return Math.ceil((4 * count) / 16) * 16;
}

/** Bytes allocateModel takes: weights, gradients, the three optimizer slots and the scratch. */
export function modelBytes(specs: readonly LayerSpec[]): number {
  return allocBytes(5 * layoutParams(specs).floats + ALIGN_FLOATS);
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
   * For training: a layer followed by dropout writes its dropped, rescaled output here (the next
   * layer's input), keeping A_l itself for g′; 0 for every other layer.
   */
  readonly drops: readonly Ptr[];
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
  drops: Ptr[] = [];
  logits: Ptr = 0;
  x: Ptr = 0;
  y: Ptr = 0;
  delta: Ptr = 0;
  spare: Ptr = 0;
}

/** Bytes allocateBatch takes for the same arguments. */
export function batchBytes(specs: readonly LayerSpec[], rows: number, needs: BatchNeeds): number {
  const last = specs[specs.length - 1];
  const widest = Math.max(...specs.map((s) => s.units));
  let bytes = allocBytes(rows * last.units);
  specs.forEach((s, l) => {
    bytes += allocBytes(rows * s.units);
    if (needs.backward && l < specs.length - 1 && derivativeFromZ(s.code)) bytes += allocBytes(rows * s.units);
    if (needs.backward && s.dropout > 0) bytes += allocBytes(rows * s.units);
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
  into.rows = rows;
  into.acts.length = 0;
  for (const s of specs) into.acts.push(backend.alloc(rows * s.units));
  into.zs.length = 0;
  specs.forEach((s, l) => {
    const keep = needs.backward && l < specs.length - 1 && derivativeFromZ(s.code);
    into.zs.push(keep ? backend.alloc(rows * s.units) : 0);
  });
  into.drops.length = 0;
  for (const s of specs) into.drops.push(needs.backward && s.dropout > 0 ? backend.alloc(rows * s.units) : 0);
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

/** The region at base (params, grads or an optimizer slot) without padding: flat [W1, b1, W2, b2, …]. */
export function readFlat(net: PlannedModel, base: Ptr): Float32Array {
  const { backend, specs, mem } = net;
  const out = new Float32Array(mem.layout.count);
  let at = 0;
  specs.forEach((s, l) => {
    for (const [offset, size] of [[mem.layout.weightOffsets[l], s.inputUnits * s.units], [mem.layout.biasOffsets[l], s.units]]) {
      const from = (base >>> 2) + offset;
      out.set(backend.f32.subarray(from, from + size), at);
      at += size;
    }
  });
  return out;
}

/** The inverse of readFlat: flat [W1, b1, …] into the padded region at base. */
export function writeFlat(net: PlannedModel, base: Ptr, flat: Float32Array): void {
  const { backend, specs, mem } = net;
  let at = 0;
  specs.forEach((s, l) => {
    for (const [offset, size] of [[mem.layout.weightOffsets[l], s.inputUnits * s.units], [mem.layout.biasOffsets[l], s.units]]) {
      backend.f32.set(flat.subarray(at, at + size), (base >>> 2) + offset);
      at += size;
    }
  });
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

/**
 * upload, then the finiteness check of user inputs, run by the backend's allFinite kernel on the
 * copy: SIMD wasm checks a data set several times faster than a JS loop, and fit checks on every
 * call. Throws (naming `where` and `arg`) on NaN or ±Infinity; the caller's mark/release frees
 * the copy.
 */
export function uploadRows(backend: Backend, rows: Rows, where: string, arg: string): Ptr {
  const ptr = upload(backend, rows.data);
  if (backend.allFinite(ptr, rows.data.length) === 0) throw notFiniteError(where, arg, rows);
  return ptr;
}

function alignUp(floats: number): number {
  return Math.ceil(floats / ALIGN_FLOATS) * ALIGN_FLOATS;
}
