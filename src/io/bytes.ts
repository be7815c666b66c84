/**
 * Raw bytes in and out: what callers may hand over (Uint8Array, ArrayBuffer, a browser Blob or
 * File), and float32 arrays stored little-endian, whatever the host's byte order.
 */
import { invalid, SimdnetError } from '../errors.js';

export type BytesLike = Uint8Array | ArrayBuffer | Blob;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bytes of `value`; a Blob's size is checked against maxBytes before it is read. */
export async function readBytes(where: string, arg: string, value: unknown, maxBytes: number, expected: string): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof Blob !== 'undefined' && value instanceof Blob) {
    if (value.size > maxBytes) {
      throw new SimdnetError(arg, `${where}: ${arg} holds ${value.size} bytes, more than the ${maxBytes} a valid one can have`);
    }
    return new Uint8Array(await value.arrayBuffer());
  }
  throw invalid(where, arg, expected, value);
}

/** `count` float32 values at byte `at` (any alignment). */
export function readFloat32LE(bytes: Uint8Array, at: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    // One block copy: the stored order is the host's.
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + 4 * count));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, true);
  }
  return out;
}

export function writeFloat32LE(bytes: Uint8Array, at: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i], true);
  }
}

/** Index of the first NaN or ±Infinity, or −1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) return i;
  }
  return -1;
}

/** The concatenation of several buffers (weight shards). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
