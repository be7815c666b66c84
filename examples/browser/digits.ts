/** The digits file (digits-format.ts), fetched and unpacked in a worker; shared by both workers. */
import { HEADER_BYTES, MAGIC, TRAIN_COUNT } from './digits-format.js';

export interface DigitSet {
  /** rows × side² pixels in [0, 1]. */
  x: Float32Array;
  /** The digit of each row. */
  y: Int32Array;
  rows: number;
}

export interface Digits {
  side: number;
  train: DigitSet;
  test: DigitSet;
  /** The file's size as downloaded. */
  downloadBytes: number;
}

/**
 * Unpacks gzip unless the host already did (a server may send a .bin file with Content-Encoding,
 * and then the browser hands over the bytes inflated).
 */
async function inflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function rows(bytes: Uint8Array, labelsAt: number, pixelsAt: number, side: number, from: number, to: number): DigitSet {
  const n = to - from;
  const per = side * side;
  const x = new Float32Array(n * per);
  const pixels = bytes.subarray(pixelsAt + from * per, pixelsAt + to * per);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
  const y = Int32Array.from(bytes.subarray(labelsAt + from, labelsAt + to));
  return { x, y, rows: n };
}

export async function fetchDigits(url: string): Promise<Digits> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`The digits could not be downloaded (${url}: HTTP ${response.status}).`);
  const packed = new Uint8Array(await response.arrayBuffer());
  const bytes = await inflate(packed);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== MAGIC) throw new Error(`${url} is not a digits file made by this demo.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(4, true);
  const side = view.getUint32(8, true);
  if (bytes.length !== HEADER_BYTES + count * (1 + side * side) || count <= TRAIN_COUNT) {
    throw new Error(`${url} is cut short or has the wrong size.`);
  }
  const pixelsAt = HEADER_BYTES + count;
  return {
    side,
    train: rows(bytes, HEADER_BYTES, pixelsAt, side, 0, TRAIN_COUNT),
    test: rows(bytes, HEADER_BYTES, pixelsAt, side, TRAIN_COUNT, count),
    downloadBytes: packed.length,
  };
}
