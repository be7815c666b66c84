/** Backend selection: SIMD WebAssembly by default, the pure-JS kernels on request. */
import { invalid, SimdnetError } from '../errors.js';
import { BACKEND_NAMES, type Backend, type BackendName } from './backend.js';
import { createJsBackend } from './js.js';
import { createWasmBackend, wasmRelaxedSimdSupported } from './wasm.js';

export * from './backend.js';
export { createJsBackend, createWasmBackend, wasmRelaxedSimdSupported };
export type { WasmBackendOptions } from './wasm.js';

/**
 * The smallest module that uses a v128 instruction: `(func (result v128) i32.const 0 i32x4.splat)`.
 * Engines without the SIMD proposal reject it at validation.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // code: i32.const 0; i32x4.splat; end
]);

/** True when this engine has WebAssembly with 128-bit SIMD. */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** `value` as a backend name; a SimdnetError naming `where`'s `backend` argument otherwise. */
export function checkBackendName(where: string, value: unknown): BackendName {
  if (!(BACKEND_NAMES as readonly unknown[]).includes(value)) throw invalid(where, 'backend', "'wasm' or 'js'", value);
  return value as BackendName;
}

export interface BackendOptions {
  /** wasm only: use the relaxed-SIMD build (FMA in GEMM; see createWasmBackend). Default false. */
  relaxed?: boolean;
}

export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const relaxed = options.relaxed ?? false;
  if (name === 'js') {
    if (relaxed) {
      throw new SimdnetError('relaxed', "createBackend: relaxed SIMD is a build of the 'wasm' backend; backend 'js' has none");
    }
    return createJsBackend();
  }
  if (name === 'wasm') {
    if (!wasmSimdSupported()) {
      throw new SimdnetError(
        'backend',
        "createBackend: backend 'wasm' needs WebAssembly SIMD, which this JavaScript engine does not " +
          "support; use backend 'js' instead",
      );
    }
    return await createWasmBackend({ relaxed });
  }
  throw invalid('createBackend', 'backend', "'wasm' or 'js'", name);
}
