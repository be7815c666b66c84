/**
 * Test helpers shared by the kernel suites: the backends under test, and moving data in and out
 * of a backend's memory. Set SIMDNET_TEST_BACKENDS=js (comma-separated) to restrict the run.
 */
import { expect } from 'vitest';
import { createBackend, type Backend, type BackendName, type Ptr } from '../src/backend/index.js';

const ALL: BackendName[] = ['js', 'wasm'];

export const BACKEND_NAMES: BackendName[] = (() => {
  const env = process.env.SIMDNET_TEST_BACKENDS;
  if (!env) return ALL;
  const names = env.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const name of names) {
    if (!ALL.includes(name as BackendName)) throw new Error(`SIMDNET_TEST_BACKENDS: unknown backend '${name}'`);
  }
  return names as BackendName[];
})();

/** True when both backends are under test, so wasm-vs-js agreement checks can run. */
export const BOTH_BACKENDS = BACKEND_NAMES.includes('js') && BACKEND_NAMES.includes('wasm');

export function makeBackend(name: BackendName): Promise<Backend> {
  return createBackend(name);
}

/** Copies `data` into a fresh allocation and returns its pointer. */
export function upload(b: Backend, data: ArrayLike<number>): Ptr {
  const ptr = b.alloc(data.length);
  b.f32.set(data, ptr >> 2); // view read after alloc: memory may have grown
  return ptr;
}

/** Copies int32 `data` (e.g. row indices) into a fresh allocation. */
export function uploadI32(b: Backend, data: ArrayLike<number>): Ptr {
  const ptr = b.alloc(data.length);
  b.i32.set(data, ptr >> 2);
  return ptr;
}

/** A copy of n floats at ptr. */
export function read(b: Backend, ptr: Ptr, n: number): Float32Array {
  return b.f32.slice(ptr >> 2, (ptr >> 2) + n);
}

const GUARD = 4; // floats: keeps the guarded buffer 16-byte aligned
const SENTINEL = -12345.5;

/**
 * An output buffer of n floats with sentinel floats on both sides, to catch kernels (SIMD tails
 * especially) that write past their output. `init` fills the buffer itself (default zeros).
 */
export function guarded(b: Backend, n: number, init?: ArrayLike<number>): { ptr: Ptr; check(): void } {
  const base = b.alloc(n + 2 * GUARD + 4);
  const ptr = base + GUARD * 4;
  const f = b.f32;
  f.fill(SENTINEL, base >> 2, (base >> 2) + n + 2 * GUARD + 4);
  if (init) f.set(init, ptr >> 2);
  else f.fill(0, ptr >> 2, (ptr >> 2) + n);
  return {
    ptr,
    check() {
      const g = b.f32;
      const before = Array.from(g.subarray(base >> 2, ptr >> 2));
      const after = Array.from(g.subarray((ptr >> 2) + n, (ptr >> 2) + n + GUARD + 4));
      expect(before.every((v) => v === SENTINEL), 'kernel wrote before its output').toBe(true);
      expect(after.every((v) => v === SENTINEL), 'kernel wrote past the end of its output').toBe(true);
    },
  };
}

/** Runs `body` and frees everything it allocated on b. */
export function scoped<T>(b: Backend, body: () => T): T {
  const mark = b.mark();
  try {
    return body();
  } finally {
    b.release(mark);
  }
}
