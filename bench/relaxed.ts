/**
 * The opt-in relaxed-SIMD build (`createWasmBackend({ relaxed: true })`, FMA in GEMM). Node 20 has
 * relaxed SIMD behind a V8 flag; the library never sets engine flags on its own, so the suite calls
 * simdnet/node's enableRelaxedSimd before any module is compiled (the flag only affects modules
 * compiled after it).
 */
import { createWasmBackend, type Backend } from '../src/backend/index.js';

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
