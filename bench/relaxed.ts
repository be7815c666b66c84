/**
 * The opt-in relaxed-SIMD build (`createWasmBackend({ relaxed: true })`, FMA in GEMM). Node 20 has
 * relaxed SIMD behind a V8 flag; the library never sets engine flags, so the suite does, before any
 * module is compiled (the flag only affects modules compiled after it).
 */
import { setFlagsFromString } from 'node:v8';
import { createWasmBackend, type Backend } from '../src/backend/index.js';
import { FMA_MODULE } from './peak.js';

/** True when relaxed SIMD validates, turning V8's flag on first if needed. Call before compiling wasm. */
export function enableRelaxedSimd(): boolean {
  if (WebAssembly.validate(FMA_MODULE)) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(FMA_MODULE);
}

/** The relaxed wasm backend, or why there is none. */
export async function loadRelaxedBackend(relaxedSimd: boolean): Promise<Backend | string> {
  if (!relaxedSimd) return 'not available: this engine does not validate relaxed SIMD';
  try {
    const backend = await createWasmBackend({ relaxed: true });
    // Guards against a build that ignores the option and hands back the plain kernels.
    return backend.relaxed ? backend : 'not available: createWasmBackend({ relaxed: true }) returned the plain SIMD build';
  } catch (err) {
    return `not available: ${(err as Error).message}`;
  }
}
