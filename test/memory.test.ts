/** Memory management, data movement and backend selection, on every backend. */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend, createJsBackend, wasmSimdSupported, type Backend } from '../src/backend/index.js';
import { SimdnetError } from '../src/errors.js';
import { BACKEND_NAMES, guarded, makeBackend, read, scoped, upload, uploadI32 } from './backends.js';
import { mulberry32, uniform } from './prng.js';

describe.each(BACKEND_NAMES)('memory on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it('reports its name', () => {
    expect(b.name).toBe(name);
  });

  it('hands out 16-byte aligned, disjoint, zero-filled blocks', () => {
    scoped(b, () => {
      const sizes = [1, 3, 4, 5, 17, 0, 33];
      const ptrs = sizes.map((n) => b.alloc(n));
      ptrs.forEach((p, i) => {
        expect(p % 16).toBe(0);
        if (i > 0) expect(p).toBeGreaterThanOrEqual(ptrs[i - 1] + sizes[i - 1] * 4);
        expect(Array.from(read(b, p, sizes[i])).every((v) => v === 0)).toBe(true);
      });
    });
  });

  it('release frees back to the mark, and reused memory comes back zeroed', () => {
    const mark = b.mark();
    const p = b.alloc(100);
    b.fill(p, 100, 7);
    b.release(mark);
    expect(b.mark()).toBe(mark);
    const q = b.alloc(100);
    expect(q).toBe(p);
    expect(Array.from(read(b, q, 100)).every((v) => v === 0)).toBe(true);
    b.release(mark);
  });

  it('alloc(count, false) leaves reused memory as it was, but zeroes the alignment padding after it', () => {
    const mark = b.mark();
    const p = b.alloc(103);
    b.fill(p, 104, 7); // the 103 floats and the first float of padding
    b.release(mark);
    const q = b.alloc(101, false);
    expect(q).toBe(p);
    expect(Array.from(read(b, q, 101)).every((v) => v === 7)).toBe(true);
    expect(Array.from(read(b, q + 4 * 101, 3))).toEqual([0, 0, 0]); // up to the next 16 bytes
    b.release(mark);
  });

  it('grows on demand and keeps earlier contents (views re-read after alloc)', () => {
    scoped(b, () => {
      const data = uniform(mulberry32(1), 1000, -1, 1);
      const p = upload(b, data);
      const before = b.f32.buffer.byteLength;
      const big = b.alloc((before >> 2) + 1000); // more than the whole memory held
      expect(b.f32.buffer.byteLength).toBeGreaterThan(before);
      expect(big % 16).toBe(0);
      expect(Array.from(read(b, p, 1000))).toEqual(Array.from(data));
      expect(b.f32.length).toBeGreaterThanOrEqual((big >> 2) + (before >> 2) + 1000);
      expect(b.i32.buffer).toBe(b.f32.buffer);
      // Kernels work across the old and the new part of memory.
      b.copy(p, big, 1000);
      expect(Array.from(read(b, big, 1000))).toEqual(Array.from(data));
    });
  });

  it('gatherRows copies the indexed rows (repeats and any order), inline and by block copy (from 64 floats)', () => {
    for (const rowLen of [1, 3, 4, 5, 17, 63, 64, 67, 784]) {
      scoped(b, () => {
        const rows = 9;
        const src = uniform(mulberry32(rowLen), rows * rowLen);
        const index = [8, 0, 3, 3, 7, 1, 0];
        const dst = guarded(b, index.length * rowLen);
        b.gatherRows(upload(b, src), uploadI32(b, index), index.length, rowLen, dst.ptr);
        dst.check();
        const want = index.flatMap((r) => Array.from(src.subarray(r * rowLen, (r + 1) * rowLen)));
        expect(Array.from(read(b, dst.ptr, index.length * rowLen))).toEqual(want);
      });
    }
  });

  it.each([1, 3, 4, 5, 17, 130])('copy and fill over %i floats', (n) => {
    scoped(b, () => {
      const src = uniform(mulberry32(n), n);
      const dst = guarded(b, n);
      b.copy(upload(b, src), dst.ptr, n);
      dst.check();
      expect(Array.from(read(b, dst.ptr, n))).toEqual(Array.from(src));
      b.fill(dst.ptr, n, -0.375);
      dst.check();
      expect(Array.from(read(b, dst.ptr, n)).every((v) => v === -0.375)).toBe(true);
    });
  });

  it.each([1, 3, 4, 5, 17, 130])('allFinite over %i floats finds NaN and ±Infinity anywhere', (n) => {
    scoped(b, () => {
      const x = uniform(mulberry32(n + 1), n, -3e38, 3e38);
      const p = upload(b, x);
      expect(b.allFinite(p, n)).toBe(1);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of new Set([0, n >> 1, n - 1])) {
          b.f32[(p >> 2) + at] = bad;
          expect(b.allFinite(p, n), `${bad} at ${at} of ${n}`).toBe(0);
          // Only the first n floats count.
          if (at === n - 1) expect(b.allFinite(p, n - 1)).toBe(1);
          b.f32[(p >> 2) + at] = x[at];
        }
      }
      expect(b.allFinite(p, n)).toBe(1);
    });
  });
});

describe('backend selection', () => {
  it('detects WebAssembly SIMD (Node 20 has it)', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  it("createBackend('js') and createJsBackend give the js backend", async () => {
    expect((await createBackend('js')).name).toBe('js');
    expect(createJsBackend(64).name).toBe('js');
  });

  it.runIf(BACKEND_NAMES.includes('wasm'))('createBackend() defaults to wasm', async () => {
    expect((await createBackend()).name).toBe('wasm');
  });

  it('rejects an unknown backend name with a clear message', async () => {
    await expect(createBackend('gpu' as never)).rejects.toThrow(SimdnetError);
    await expect(createBackend('gpu' as never)).rejects.toThrow(/backend must be 'wasm' or 'js', got "gpu"/);
  });

  it("without SIMD, asking for wasm fails with a message pointing to 'js'", async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    try {
      expect(wasmSimdSupported()).toBe(false);
      await expect(createBackend('wasm')).rejects.toThrow(SimdnetError);
      await expect(createBackend('wasm')).rejects.toThrow(/WebAssembly SIMD.*use backend 'js'/);
      expect((await createBackend('js')).name).toBe('js');
    } finally {
      validate.mockRestore();
    }
    expect(wasmSimdSupported()).toBe(true);
  });

  it('a js backend starting with tiny memory grows as needed', () => {
    const b = createJsBackend(64);
    const p = b.alloc(10_000);
    b.fill(p, 10_000, 2);
    expect(b.f32[(p >> 2) + 9_999]).toBe(2);
    expect(() => b.release(p + 4)).toThrow(RangeError);
  });
});
