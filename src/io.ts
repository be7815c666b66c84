/**
 * The saved-model format, little-endian throughout:
 *
 *   bytes 0–3    magic 'SNET'
 *   bytes 4–7    u32 format version (1)
 *   bytes 8–11   u32 byte length L of the JSON header
 *   12 … 12+L    JSON header, UTF-8: { layers, loss, optimizer, metrics, step, seed, metadata,
 *                paramCount, stateSlots }
 *   zero padding to a multiple of 4 bytes
 *   paramCount × f32     parameters [W1, b1, W2, b2, …], W row-major [n_in × n_out], no padding
 *   stateSlots × paramCount × f32   optimizer state (momentum: m; Adam: m then v), same order
 */
import { describeValue, invalid, isPlainObject, SimdnetError } from './errors.js';

const MAGIC = [0x53, 0x4e, 0x45, 0x54]; // 'SNET'
const VERSION = 1;
const PREAMBLE_BYTES = 12;

export interface ModelHeader {
  layers: unknown[];
  loss: string | null;
  optimizer: unknown;
  metrics: string[];
  step: number;
  seed: number;
  metadata: unknown;
  paramCount: number;
  stateSlots: number;
}

export interface ModelFile {
  header: ModelHeader;
  params: Float32Array;
  /** stateSlots × paramCount floats (empty when no optimizer state was saved). */
  state: Float32Array;
}

export function encodeModel(header: ModelHeader, params: Float32Array, state: Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const floatsAt = alignUp(PREAMBLE_BYTES + json.length);
  const bytes = new Uint8Array(floatsAt + 4 * (params.length + state.length));
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, PREAMBLE_BYTES);
  writeFloats(view, floatsAt, params);
  writeFloats(view, floatsAt + 4 * params.length, state);
  return bytes;
}

export function decodeModel(where: string, bytes: unknown): ModelFile {
  if (!(bytes instanceof Uint8Array)) throw invalid(where, 'bytes', 'a Uint8Array written by model.save()', bytes);
  const fail = (what: string): SimdnetError =>
    new SimdnetError('bytes', `${where}: bytes must be a model written by model.save(), but ${what}`);
  if (bytes.length < PREAMBLE_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw fail("they do not start with 'SNET'");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw fail(`their format version is ${version}, and this simdnet reads version ${VERSION}`);
  const jsonLength = view.getUint32(8, true);
  if (PREAMBLE_BYTES + jsonLength > bytes.length) throw fail('the header runs past the end (truncated?)');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + jsonLength)));
  } catch {
    throw fail('the header is not valid JSON');
  }
  if (!isPlainObject(header)) throw fail(`the header is ${describeValue(header)}`);
  const { paramCount, stateSlots, step, seed, layers, metrics } = header;
  if (!Number.isSafeInteger(paramCount) || (paramCount as number) < 1) throw fail('the header has no valid paramCount');
  if (stateSlots !== 0 && stateSlots !== 1 && stateSlots !== 2) throw fail('the header has no valid stateSlots');
  if (!Number.isSafeInteger(step) || (step as number) < 0) throw fail('the header has no valid step');
  if (!Number.isSafeInteger(seed)) throw fail('the header has no valid seed');
  if (!Array.isArray(layers)) throw fail('the header has no layers');
  if (!Array.isArray(metrics) || !metrics.every((m) => typeof m === 'string')) throw fail('the header has no valid metrics');
  const count = paramCount as number;
  const floatsAt = alignUp(PREAMBLE_BYTES + jsonLength);
  const expected = floatsAt + 4 * count * (1 + stateSlots);
  if (bytes.length !== expected) throw fail(`they hold ${bytes.length} bytes where the header implies ${expected}`);
  return {
    header: header as unknown as ModelHeader,
    params: readFloats(view, floatsAt, count),
    state: readFloats(view, floatsAt + 4 * count, count * stateSlots),
  };
}

function writeFloats(view: DataView, at: number, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i], true);
}

function readFloats(view: DataView, at: number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, true);
  return out;
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}
