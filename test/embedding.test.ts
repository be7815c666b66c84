/**
 * How the wasm builds travel inside the script (scripts/embed-wasm.mjs, src/backend/wasm.ts):
 * zlib-deflated, then base64, inflated at load by the engine's DecompressionStream, or by the
 * JavaScript inflate of src/backend/inflate.ts where the engine has none; and how a build is
 * instantiated (its AssemblyScript abort turned into an Error).
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inflateZlib } from '../src/backend/inflate.js';
import { embeddedBytes, instantiateKernels } from '../src/backend/wasm.js';
import { wasmRelaxedSharedDeflated } from '../src/wasm/simdnet-relaxed-shared.generated.js';
import { wasmRelaxedDeflated } from '../src/wasm/simdnet-relaxed.generated.js';
import { wasmSharedDeflated } from '../src/wasm/simdnet-shared.generated.js';
import { wasmDeflated } from '../src/wasm/simdnet.generated.js';
import { mulberry32 } from './prng.js';

const BUILDS = {
  'simdnet.wasm': wasmDeflated,
  'simdnet-relaxed.wasm': wasmRelaxedDeflated,
  'simdnet-shared.wasm': wasmSharedDeflated,
  'simdnet-relaxed-shared.wasm': wasmRelaxedSharedDeflated,
};
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the embedded builds', () => {
  for (const [file, text] of Object.entries(BUILDS)) {
    it(`${file}: inflates to the module asc wrote, with DecompressionStream and without it`, async () => {
      const bytes = await embeddedBytes(text);
      expect(Array.from(bytes.subarray(0, 8))).toEqual(WASM_MAGIC);
      const built = new URL(`../build/${file}`, import.meta.url);
      if (existsSync(built)) expect(Buffer.from(bytes).equals(readFileSync(built))).toBe(true);
      // Base64 of deflated bytes: far shorter than base64 of the module itself would be.
      expect(text.length).toBeLessThan((bytes.length * 4) / 3 / 2);
      vi.stubGlobal('DecompressionStream', undefined);
      expect(Buffer.from(await embeddedBytes(text)).equals(Buffer.from(bytes))).toBe(true);
    });
  }

  it('a corrupted build fails with an error, with DecompressionStream and without it', async () => {
    const bytes = Buffer.from(wasmDeflated, 'base64');
    bytes[1000] ^= 0x5a;
    const corrupted = bytes.toString('base64');
    await expect(embeddedBytes(corrupted)).rejects.toThrow();
    vi.stubGlobal('DecompressionStream', undefined);
    await expect(embeddedBytes(corrupted)).rejects.toThrow(/inflate: the embedded WebAssembly module is corrupt/);
  });
});

describe('inflateZlib, the JavaScript inflate', () => {
  const random = mulberry32(7);
  const noise = Buffer.from(Array.from({ length: 70_000 }, () => Math.floor(random() * 256)));
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(3000));
  const far = Buffer.concat([noise.subarray(0, 40_000), noise.subarray(0, 40_000)]); // matches 40,000 bytes back
  const cases: [string, Buffer, object][] = [
    ['empty input', Buffer.alloc(0), {}],
    ['stored blocks (level 0)', noise, { level: 0 }],
    ['fixed Huffman codes', text, { strategy: constants.Z_FIXED }],
    ['dynamic Huffman codes', text, { level: 9 }],
    ['incompressible data', noise, { level: 9 }],
    ['matches near the window limit', far, { level: 9, windowBits: 15 }],
    ['run lengths (distance 1)', Buffer.alloc(100_000, 7), { level: 9, strategy: constants.Z_RLE }],
  ];
  for (const [name, input, options] of cases) {
    it(`inflates ${name} as zlib does`, () => {
      const deflated = deflateSync(input, options);
      expect(Buffer.from(inflateZlib(deflated)).equals(inflateSync(deflated))).toBe(true);
    });
  }

  it('refuses what is not a whole, intact zlib stream', () => {
    const deflated = deflateSync(text);
    expect(() => inflateZlib(deflated.subarray(0, deflated.length >> 1))).toThrow(/corrupt \(it ends early\)/);
    const flipped = Buffer.from(deflated);
    flipped[flipped.length - 1] ^= 1;
    expect(() => inflateZlib(flipped)).toThrow(/corrupt \(its checksum does not match\)/);
    expect(() => inflateZlib(Buffer.from('not zlib at all'))).toThrow(/corrupt \(not a zlib stream\)/);
  });
});

/**
 * AssemblyScript's compiler API, imported by a name TypeScript does not follow: its declarations
 * bring AssemblyScript's own globals into the whole program (Array's at() returning T, and more).
 */
interface Asc {
  compileString(source: string, options: object): Promise<{ error: Error | null; binary?: Uint8Array }>;
}
const ASC = 'assemblyscript/asc';

describe('instantiateKernels', () => {
  it("turns AssemblyScript's abort (a build with assertions kept) into an Error with its message and place", async () => {
    const asc = ((await import(ASC)) as { default: Asc }).default;
    const { error, binary } = await asc.compileString(
      "export function half(n: i32): i32 { assert(n % 2 == 0, 'n must be even'); return n / 2; }",
      { runtime: 'stub', optimizeLevel: 0 },
    );
    expect(error).toBeNull();
    const instance = await instantiateKernels(await WebAssembly.compile(new Uint8Array(binary!)));
    const half = instance.exports.half as (n: number) => number;
    expect(half(8)).toBe(4);
    expect(() => half(3)).toThrow(/^abort: n must be even at input\.ts:1:\d+$/);
  });
});
