/** Backend selection: SIMD WebAssembly by default, the pure-JS kernels on request. */
import { invalid, SimdnetError } from '../errors.js';
import type { Backend, BackendName } from './backend.js';
import { createJsBackend } from './js.js';
import { createWasmBackend } from './wasm.js';

export * from './backend.js';
export { createJsBackend, createWasmBackend };

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

export async function createBackend(name: BackendName = 'wasm'): Promise<Backend> {
  if (name === 'js') return createJsBackend();
  if (name === 'wasm') {
    if (!wasmSimdSupported()) {
      throw new SimdnetError(
        'backend',
        "createBackend: backend 'wasm' needs WebAssembly SIMD, which this JavaScript engine does not " +
          "support; use backend 'js' instead",
      );
    }
    return await createWasmBackend();
  }
  throw invalid('createBackend', 'backend', "'wasm' or 'js'", name);
}
