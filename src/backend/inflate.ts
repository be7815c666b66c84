/**
 * zlib inflate (RFC 1950 around RFC 1951 deflate) in plain JavaScript, for the engines that run
 * WebAssembly SIMD but have no DecompressionStream (Firefox 89 to 112). wasm.ts imports it only
 * there, so bundles fetch it only there; everywhere else the engine's own inflate runs.
 */

/** Length and distance codes: base values and extra bits (RFC 1951, 3.2.5). */
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order in which a dynamic block lists the code lengths of its code-length code. */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: how many codes of each length, and the symbols in code order. */
interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function huffman(lengths: ArrayLike<number>): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]]++;
  counts[0] = 0;
  const offsets = new Uint16Array(16);
  for (let len = 1; len < 16; len++) offsets[len] = offsets[len - 1] + counts[len - 1];
  const symbols = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) if (lengths[i] !== 0) symbols[offsets[lengths[i]]++] = i;
  return { counts, symbols };
}

const FIXED_LENGTHS = huffman(Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)));
const FIXED_DISTANCES = huffman(new Array<number>(30).fill(5));

function corrupt(what: string): Error {
  return new Error(`inflate: the embedded WebAssembly module is corrupt (${what})`);
}

/** Reads the deflate stream bit by bit, least significant first, and writes into a growing buffer. */
class Inflater {
  private pos: number;
  private bitBuf = 0;
  private bitCount = 0;
  out: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(private readonly data: Uint8Array, start: number) {
    this.pos = start;
    this.out = new Uint8Array(data.length * 4);
  }

  bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.data.length) throw corrupt('it ends early');
      this.bitBuf |= this.data[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
    const value = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return value;
  }

  /** The next symbol of `code`: one bit at a time down the canonical code. */
  decode(code: Huffman): number {
    let value = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      value |= this.bits(1);
      const count = code.counts[len];
      if (value - first < count) return code.symbols[index + value - first];
      index += count;
      first = (first + count) << 1;
      value <<= 1;
    }
    throw corrupt('a code that no table holds');
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.length + n));
    grown.set(this.out.subarray(0, this.length));
    this.out = grown;
  }

  /** A stored block: aligned to a byte, its length, its one's complement, the bytes. */
  stored(): void {
    this.bitBuf = 0;
    this.bitCount = 0;
    const d = this.data;
    const p = this.pos;
    if (p + 4 > d.length) throw corrupt('it ends early');
    const len = d[p] | (d[p + 1] << 8);
    if ((len ^ (d[p + 2] | (d[p + 3] << 8))) !== 0xffff) throw corrupt('a stored block of a wrong length');
    if (p + 4 + len > d.length) throw corrupt('it ends early');
    this.reserve(len);
    this.out.set(d.subarray(p + 4, p + 4 + len), this.length);
    this.length += len;
    this.pos = p + 4 + len;
  }

  /** A block compressed with the given codes, up to its end-of-block symbol. */
  compressed(lengths: Huffman, distances: Huffman): void {
    for (;;) {
      const symbol = this.decode(lengths);
      if (symbol < 256) {
        this.reserve(1);
        this.out[this.length++] = symbol;
        continue;
      }
      if (symbol === 256) return;
      const i = symbol - 257;
      if (i >= 29) throw corrupt('a length code out of range');
      const len = LENGTH_BASE[i] + this.bits(LENGTH_EXTRA[i]);
      const d = this.decode(distances);
      if (d >= 30) throw corrupt('a distance code out of range');
      const dist = DIST_BASE[d] + this.bits(DIST_EXTRA[d]);
      if (dist > this.length) throw corrupt('a distance before the start');
      this.reserve(len);
      const out = this.out;
      for (let k = 0; k < len; k++, this.length++) out[this.length] = out[this.length - dist];
    }
  }

  /** The codes of a dynamic block, read from its header. */
  dynamicCodes(): [Huffman, Huffman] {
    const hlit = this.bits(5) + 257;
    const hdist = this.bits(5) + 1;
    const hclen = this.bits(4) + 4;
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < hclen; i++) codeLengths[CODE_LENGTH_ORDER[i]] = this.bits(3);
    const codeLengthCode = huffman(codeLengths);
    const lengths = new Uint8Array(hlit + hdist);
    for (let n = 0; n < hlit + hdist;) {
      const symbol = this.decode(codeLengthCode);
      if (symbol < 16) {
        lengths[n++] = symbol;
        continue;
      }
      if (symbol === 16 && n === 0) throw corrupt('a repeat with nothing before it');
      const value = symbol === 16 ? lengths[n - 1] : 0;
      const repeat = symbol === 16 ? 3 + this.bits(2) : symbol === 17 ? 3 + this.bits(3) : 11 + this.bits(7);
      if (n + repeat > hlit + hdist) throw corrupt('code lengths past the end');
      lengths.fill(value, n, n + repeat);
      n += repeat;
    }
    return [huffman(lengths.subarray(0, hlit)), huffman(lengths.subarray(hlit))];
  }
}

/** Adler-32 (RFC 1950) of `bytes`. */
function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The bytes of a zlib stream, its checksum verified; an Error saying the module is corrupt otherwise. */
export function inflateZlib(data: Uint8Array): Uint8Array<ArrayBuffer> {
  if (data.length < 6 || (data[0] & 0x0f) !== 8 || ((data[0] << 8) | data[1]) % 31 !== 0 || (data[1] & 0x20) !== 0) {
    throw corrupt('not a zlib stream');
  }
  const inflater = new Inflater(data, 2);
  let last = 0;
  while (last === 0) {
    last = inflater.bits(1);
    const type = inflater.bits(2);
    if (type === 0) inflater.stored();
    else if (type === 1) inflater.compressed(FIXED_LENGTHS, FIXED_DISTANCES);
    else if (type === 2) inflater.compressed(...inflater.dynamicCodes());
    else throw corrupt('a block of an unknown type');
  }
  const bytes = inflater.out.slice(0, inflater.length);
  const end = data.length - 4;
  const expected = ((data[end] << 24) | (data[end + 1] << 16) | (data[end + 2] << 8) | data[end + 3]) >>> 0;
  if (adler32(bytes) !== expected) throw corrupt('its checksum does not match');
  return bytes;
}
