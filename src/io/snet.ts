/**
 * The saved-model format ('SNET'), little-endian throughout:
 *
 *   bytes 0–3    magic 'SNET'
 *   bytes 4–7    u32 format version (3; versions 1 and 2 are read too)
 *   bytes 8–11   u32 byte length L of the JSON header
 *   12 … 12+L    JSON header, UTF-8: { layers, loss, optimizer, metrics, step, seed, metadata,
 *                paramCount, stateSlots, dtype, shuffleState, lr? }
 *                shuffleState (version 2 on): the four uint32 words of the model's shuffle
 *                generator, so that a fit without a seed continues the stream the saved model
 *                would have drawn from. A version 1 file has none: its stream restarts from the seed.
 *                lr (version 3 on, optional): the constant learning rate of the next update when
 *                reduceLROnPlateau lowered it. Version 3 also brought the layers and optimizers
 *                that older readers do not know (dropout, activation, batchNormalization, rmsprop,
 *                …), hence the bump.
 *   zero padding to a multiple of 4 bytes
 *   paramCount × f32     parameters [W1, b1, W2, b2, …], W row-major [n_in × n_out], no padding;
 *                a layer with a batchNormalization layer after it adds, after its b, γ (scale),
 *                β (center), the moving mean and the moving variance (getWeights()' order, TF.js')
 *   stateSlots × trainable × f32   optimizer state in slot order (optimizers.ts stateSlots:
 *                momentum m; Adam and AdamW m then v; RMSProp ms, mom, mg; …), of the trainable
 *                parameters only (all but the moving statistics: paramCount without batch
 *                normalization), in the same order
 *
 * Decoding trusts nothing: every field is checked, and the sizes against MODEL_LIMITS and against
 * the byte length, before anything proportional to a claimed size is allocated. What it returns
 * is a model that can be built as is.
 */
import { describeValue, isPlainObject, plural, SimdnetError } from '../errors.js';
import { normWeights, resolveLayers, type Layer, type LayerSpec } from '../layers.js';
import { checkLoss, type LossName } from '../losses.js';
import { METRIC_NAMES, type MetricName } from '../metrics.js';
import { nonNegativeSlots, parseOptimizer, stateSlots, type Optimizer } from '../optimizers.js';
import { layoutParams } from '../plan.js';
import { firstNonFinite, readFloat32LE, writeFloat32LE } from './bytes.js';
import { checkSizes, MODEL_LIMITS } from './limits.js';

const MAGIC = [0x53, 0x4e, 0x45, 0x54]; // 'SNET'
/** The version save() writes; files of every version from OLDEST_VERSION up to it load. */
export const SNET_VERSION = 3;
/** The oldest version this decoder reads. */
const OLDEST_VERSION = 1;
const PREAMBLE_BYTES = 12;
const DTYPE = 'float32';
const HEADER_KEYS = ['layers', 'loss', 'optimizer', 'metrics', 'step', 'seed', 'metadata', 'paramCount', 'stateSlots', 'dtype'];
/** Fields added by a version, known from it on (shuffleState is required from version 2). */
const ADDED_KEYS: Readonly<Record<number, readonly string[]>> = { 2: ['shuffleState'], 3: ['lr'] };

/** What the header holds, as save() writes it. */
export interface ModelHeader {
  layers: readonly Layer[];
  loss: LossName | null;
  optimizer: Optimizer | null;
  metrics: readonly string[];
  step: number;
  seed: number;
  metadata: unknown;
  paramCount: number;
  stateSlots: number;
  /** Random.state() of the model's shuffle generator. */
  shuffleState: readonly number[];
  /** The constant learning rate the next update uses, when reduceLROnPlateau lowered it. */
  lr?: number;
}

/** A decoded file whose every part has been checked. */
export interface ModelFile {
  layers: Layer[];
  /** null for a model saved before compile(). */
  compiled: { loss: LossName; optimizer: Optimizer; metrics: MetricName[] } | null;
  step: number;
  seed: number;
  metadata: unknown;
  /** Flat [W1, b1, W2, b2, …]. */
  params: Float32Array;
  /** stateSlots × params.length floats (empty when no optimizer state was saved). */
  state: Float32Array;
  stateSlots: number;
  /** The shuffle generator's state words; null in a version 1 file. */
  shuffleState: number[] | null;
  /** The learning rate save() found lowered by reduceLROnPlateau (undefined when not). */
  lr?: number;
}

export function encodeModel(header: ModelHeader, params: Float32Array, state: Float32Array): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(JSON.stringify({ ...header, dtype: DTYPE }));
  const floatsAt = alignUp(PREAMBLE_BYTES + json.length);
  const bytes = new Uint8Array(floatsAt + 4 * (params.length + state.length));
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, SNET_VERSION, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, PREAMBLE_BYTES);
  writeFloat32LE(bytes, floatsAt, params);
  writeFloat32LE(bytes, floatsAt + 4 * params.length, state);
  return bytes;
}

export function decodeModel(where: string, bytes: Uint8Array): ModelFile {
  const fail = (what: string): SimdnetError =>
    new SimdnetError('bytes', `${where}: bytes must be a model written by model.save(), but ${what}`);
  if (bytes.length < MAGIC.length) throw fail(`they are only ${plural(bytes.length, 'byte')} long`);
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw fail("they do not start with 'SNET'");
  if (bytes.length < PREAMBLE_BYTES) {
    throw fail(`they start with 'SNET' but are only ${plural(bytes.length, 'byte')} long, shorter than the ${PREAMBLE_BYTES}-byte preamble (truncated?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version < OLDEST_VERSION || version > SNET_VERSION) {
    throw fail(`their format version is ${version}, and this simdnet reads versions ${OLDEST_VERSION} to ${SNET_VERSION}`);
  }
  const jsonLength = view.getUint32(8, true);
  if (jsonLength > MODEL_LIMITS.maxHeaderBytes) {
    throw fail(`their header claims ${jsonLength} bytes, more than the limit of ${MODEL_LIMITS.maxHeaderBytes}`);
  }
  if (PREAMBLE_BYTES + jsonLength > bytes.length) {
    throw fail(`the header claims ${jsonLength} bytes and runs past the end of the ${bytes.length} bytes given (truncated?)`);
  }
  const header = parseHeader(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + jsonLength), version, fail);
  const { layers, specs, paramCount } = checkArchitecture(where, header, fail);
  const layout = layoutParams(specs);
  const trainable = layout.count;
  const compiled = checkCompiled(where, header, specs[specs.length - 1], fail);
  const slots = header.stateSlots;
  if (slots !== 0 && (compiled === null || slots !== stateSlots(compiled.optimizer))) {
    const want = compiled === null ? 'none, the model is not compiled' : `0 or ${stateSlots(compiled.optimizer)} for ${compiled.optimizer.type}`;
    throw fail(`the header's stateSlots is ${describeValue(slots)}, where ${want}`);
  }
  const { step, seed } = header;
  if (!Number.isSafeInteger(step) || (step as number) < 0) throw fail(`the header's step is ${describeValue(step)}, not an integer ≥ 0`);
  if (!Number.isSafeInteger(seed)) throw fail(`the header's seed is ${describeValue(seed)}, not a safe integer`);

  const floatsAt = alignUp(PREAMBLE_BYTES + jsonLength);
  const expected = floatsAt + 4 * (paramCount + slots * trainable);
  if (bytes.length !== expected) {
    const how = bytes.length < expected ? 'truncated' : 'extra bytes at the end';
    throw fail(`they hold ${bytes.length} bytes where the header implies ${expected} (${how})`);
  }
  for (let i = PREAMBLE_BYTES + jsonLength; i < floatsAt; i++) {
    if (bytes[i] !== 0) throw fail(`the padding after the header is not zero (byte ${i})`);
  }
  // Sizes are now consistent with the bytes in hand, so these allocations are bounded by them.
  const params = readFloat32LE(bytes, floatsAt, paramCount);
  const state = readFloat32LE(bytes, floatsAt + 4 * paramCount, trainable * slots);
  const badParam = firstNonFinite(params);
  if (badParam >= 0) throw fail(`weight ${badParam} is ${params[badParam]}; every weight must be finite`);
  checkVariances(layout.tensors, params, fail);
  if (compiled !== null) checkState(state, slots, trainable, compiled.optimizer, fail);
  const shuffleState = version >= 2 ? checkShuffleState(header.shuffleState, fail) : null;
  const lr = checkLearningRate(header.lr, fail);
  return {
    layers, compiled, step: step as number, seed: seed as number, metadata: header.metadata, params, state, stateSlots: slots, shuffleState,
    ...(lr === undefined ? {} : { lr }),
  };
}

function parseHeader(json: Uint8Array, version: number, fail: (what: string) => SimdnetError): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    throw fail('the header is not valid UTF-8 JSON');
  }
  if (!isPlainObject(header)) throw fail(`the header is ${describeValue(header)}, not an object`);
  const keys = [...HEADER_KEYS];
  for (let v = OLDEST_VERSION + 1; v <= version; v++) keys.push(...(ADDED_KEYS[v] ?? []));
  const unknown = Object.keys(header).find((k) => !keys.includes(k));
  if (unknown !== undefined) throw fail(`the header has an unknown field ${JSON.stringify(unknown).slice(0, 60)} (format version ${version})`);
  if (header.dtype !== undefined && header.dtype !== DTYPE) {
    throw fail(`the header's dtype is ${describeValue(header.dtype)}; this simdnet stores ${DTYPE} only`);
  }
  return header;
}

/** Layers valid and within the limits, and their parameter count equal to the header's. */
function checkArchitecture(
  where: string, header: Record<string, unknown>, fail: (what: string) => SimdnetError,
): { layers: Layer[]; specs: LayerSpec[]; paramCount: number } {
  const raw = header.layers;
  if (!Array.isArray(raw) || raw.length === 0) throw fail(`the header's layers are ${describeValue(raw)}, not a non-empty array`);
  if (raw.length > MODEL_LIMITS.maxLayers) throw fail(`the header has ${raw.length} layers, more than the limit of ${MODEL_LIMITS.maxLayers}`);
  const { layers, specs } = rethrow(where, fail, 'a layer is invalid', () => resolveLayers(where, raw));
  const sizes = checkSizes(specs[0].inputUnits, specs.map((s) => s.units), normWeights(specs));
  if ('problem' in sizes) throw fail(`the model has ${sizes.problem}`);
  const paramCount = header.paramCount;
  if (paramCount !== sizes.params) {
    throw fail(`the header's paramCount is ${describeValue(paramCount)}, but its layers have ${sizes.params} parameters`);
  }
  return { layers, specs, paramCount: sizes.params };
}

function checkCompiled(
  where: string, header: Record<string, unknown>, output: LayerSpec, fail: (what: string) => SimdnetError,
): ModelFile['compiled'] {
  const { loss, optimizer, metrics } = header;
  if (loss === null) {
    if (optimizer !== null) throw fail('the header has an optimizer but no loss');
    if (!Array.isArray(metrics) || metrics.length > 0) throw fail(`the header's metrics are ${describeValue(metrics)}, where a model without a loss has []`);
    return null;
  }
  if (!Array.isArray(metrics) || !(metrics as unknown[]).every((m) => (METRIC_NAMES as readonly unknown[]).includes(m))) {
    throw fail(`the header's metrics are ${describeValue(metrics)}, not a list of ${METRIC_NAMES.join(' / ')}`);
  }
  return rethrow(where, fail, 'the compile settings are invalid', () => ({
    loss: checkLoss(where, loss, output),
    optimizer: parseOptimizer(where, optimizer),
    metrics: [...(metrics as MetricName[])],
  }));
}

/** Runs a facade check on header contents, restating its error as one about the bytes. */
function rethrow<T>(where: string, fail: (what: string) => SimdnetError, what: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof SimdnetError)) throw err;
    throw fail(`${what}: ${err.message.startsWith(`${where}: `) ? err.message.slice(where.length + 2) : err.message}`);
  }
}

/**
 * Optimizer state finite, and the slots that are sums of squares (Adam's v, RMSProp's mean square,
 * Adagrad's accumulator) not negative: that would make the next step's square root NaN.
 */
function checkState(state: Float32Array, slots: number, count: number, optimizer: Optimizer, fail: (what: string) => SimdnetError): void {
  const bad = firstNonFinite(state);
  if (bad >= 0) throw fail(`optimizer state value ${bad} is ${state[bad]}; the state must be finite`);
  if (slots === 0) return;
  for (const slot of nonNegativeSlots(optimizer)) {
    for (let i = slot * count; i < (slot + 1) * count; i++) {
      if (state[i] < 0) throw fail(`the optimizer's state slot ${slot} (a mean of squares) holds ${state[i]} at ${i - slot * count}, but it cannot be negative`);
    }
  }
}

/** Batch normalization's moving variances are variances: a negative one would make inference NaN. */
function checkVariances(tensors: ReturnType<typeof layoutParams>['tensors'], params: Float32Array, fail: (what: string) => SimdnetError): void {
  let at = 0;
  for (const t of tensors) {
    if (t.kind === 'moving_variance') {
      for (let i = at; i < at + t.size; i++) {
        if (params[i] < 0) throw fail(`weight ${i} (the moving variance of layer ${t.layer + 1}'s batch normalization) is ${params[i]}, but a variance cannot be negative`);
      }
    }
    at += t.size;
  }
}

function checkLearningRate(lr: unknown, fail: (what: string) => SimdnetError): number | undefined {
  if (lr !== undefined && (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)) throw fail(`the header's lr is ${describeValue(lr)}, not a finite number ≥ 0`);
  return lr;
}

/** Four uint32 words, not all zero (the one state xoshiro128** cannot leave). */
function checkShuffleState(words: unknown, fail: (what: string) => SimdnetError): number[] {
  const valid = Array.isArray(words) && words.length === 4
    && words.every((w) => Number.isInteger(w) && (w as number) >= 0 && (w as number) <= 0xffffffff)
    && words.some((w) => w !== 0);
  if (!valid) throw fail(`the header's shuffleState is ${describeValue(words)}, not four 32-bit unsigned integers (not all 0)`);
  return [...(words as number[])];
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
