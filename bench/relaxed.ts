/**
 * The opt-in relaxed-SIMD build. Node 20 has relaxed SIMD behind a V8 flag, which may be turned on
 * at run time as long as it happens before the modules that use it are compiled. The wasm backend
 * may offer a relaxed flavour as `createWasmBackend({ relaxed: true })`, marked by `relaxed: true`
 * on the backend it returns; until it does, the suite reports the flavour as not available.
 */
import { setFlagsFromString } from 'node:v8';
import type { Backend } from '../src/backend/index.js';
import { createWasmBackend } from '../src/backend/index.js';
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
  // Typed loosely on purpose: the option is not part of createWasmBackend's signature yet.
  const create = createWasmBackend as (options: { relaxed: boolean }) => Promise<Backend>;
  try {
    const backend = await create({ relaxed: true });
    if ((backend as Backend & { relaxed?: unknown }).relaxed === true) return backend;
    return 'not available: the wasm backend has no relaxed-SIMD flavour (createWasmBackend({ relaxed: true }))';
  } catch (err) {
    return `not available: ${(err as Error).message}`;
  }
}
