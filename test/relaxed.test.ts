/**
 * The opt-in relaxed-SIMD build of the wasm backend. Node 20 accepts relaxed SIMD only behind a V8
 * flag; the library never sets it on its own. This file first checks the error a user gets without
 * it, then turns the flag on for its own process with simdnet/node's enableRelaxedSimd (as a user
 * would, before creating the backend) and checks the relaxed kernels against the float64 reference.
 *
 * Tolerance: with fused multiply-add every step of a k-term dot product rounds once instead of
 * twice, so the bound of test/gemm.test.ts, (k+2)·u·Σ|a·b|, holds for it as well.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVATION, createWasmBackend, wasmRelaxedSimdSupported, type Backend, type Ptr,
} from '../src/backend/index.js';
import { dense, sequential, SimdnetError } from '../src/index.js';
import { enableRelaxedSimd } from '../src/node.js';
import { expectClose, U32 } from './assert.js';
import { read, scoped, upload } from './backends.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

const SUPPORTED_AT_START = wasmRelaxedSimdSupported();
const XOR_LAYERS = [dense({ units: 16, activation: 'relu', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })];

describe('relaxed SIMD', () => {
  it.runIf(!SUPPORTED_AT_START)('without engine support, asking for it throws a SimdnetError that says how to enable it', async () => {
    const err = await createWasmBackend({ relaxed: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimdnetError);
    expect((err as Error).message).toMatch(/relaxed SIMD/);
    expect((err as Error).message).toMatch(/--experimental-wasm-relaxed-simd/);
    await expect(sequential({ layers: XOR_LAYERS, relaxedSimd: true })).rejects.toThrow(/--experimental-wasm-relaxed-simd/);
  });

  it('is wasm only, a boolean, and not combined with a module of the caller', async () => {
    await expect(sequential({ layers: XOR_LAYERS, backend: 'js', relaxedSimd: true })).rejects.toThrow(
      /relaxedSimd must be false with backend 'js'/,
    );
    await expect(sequential({ layers: XOR_LAYERS, relaxedSimd: 'yes' as unknown as boolean })).rejects.toThrow(
      /relaxedSimd must be true or false, got "yes"/,
    );
    await expect(createWasmBackend({ relaxed: true, bytes: new Uint8Array(8) })).rejects.toThrow(SimdnetError);
    expect((await createWasmBackend()).relaxed).toBe(false);
  });

  describe('with the engine flag on', () => {
    let b: Backend;
    beforeAll(async () => {
      // simdnet/node's helper, as a Node user would call it (it sets V8's flag when needed).
      expect(enableRelaxedSimd()).toBe(true);
      expect(wasmRelaxedSimdSupported()).toBe(true);
      b = await createWasmBackend({ relaxed: true });
    });

    it('creates a backend marked relaxed', () => {
      expect(b.name).toBe('wasm');
      expect(b.relaxed).toBe(true);
    });

    const SHAPES: [number, number, number][] = [[1, 1, 1], [5, 5, 5], [17, 33, 5], [67, 33, 130], [129, 257, 513], [9, 263, 256]];
    type Variant = 'NN' | 'TN' | 'NT';
    it.each(['NN', 'TN', 'NT'] as Variant[])('gemm%s matches the float64 reference, accumulate on and off', (v) => {
      for (const [m, n, k] of SHAPES) {
        const rng = mulberry32(100 * m + n + k);
        const a = uniform(rng, m * k), bm = uniform(rng, k * n), c0 = uniform(rng, m * n, -2, 2);
        for (const acc of [false, true]) {
          const got = scoped(b, () => {
            const ap = upload(b, a), bp = upload(b, bm), cp: Ptr = upload(b, acc ? c0 : new Float32Array(m * n).fill(NaN));
            if (v === 'NN') b.gemmNN(m, n, k, ap, bp, cp, acc);
            else if (v === 'TN') b.gemmTN(m, n, k, ap, bp, cp, acc);
            else b.gemmNT(m, n, k, ap, bp, cp, acc);
            return read(b, cp, m * n);
          });
          const want = ref.gemm(v === 'TN', v === 'NT', m, n, k, a, bm, acc ? c0 : undefined);
          expectClose(got, want.c, want.absSum.map((s) => (k + 2) * U32 * s), `relaxed gemm${v} ${m}×${n}×${k} accumulate=${acc}`);
        }
      }
    });

    it.each(['sigmoid', 'relu', 'leakyRelu'] as const)('gemmNTBackward (%s) matches the float64 reference', (act) => {
      const [m, n, k] = [33, 70, 300];
      const rng = mulberry32(3);
      const dz = uniform(rng, m * k), w = uniform(rng, n * k);
      const aPrev = Float32Array.from(ref.activation(act, uniform(rng, m * n, -3, 3), m, n, 0.1));
      const got = scoped(b, () => {
        const out = b.alloc(m * n);
        b.gemmNTBackward(ACTIVATION[act], m, n, k, upload(b, dz), upload(b, w), upload(b, aPrev), out, 0.1);
        return read(b, out, m * n);
      });
      const dA = ref.gemm(false, true, m, n, k, dz, w);
      const want = ref.activationBackwardFromA(act, aPrev, dA.c, m, n, 0.1);
      // |g'| ≤ 1 for these three; then three roundings of the elementwise product.
      const tol = dA.absSum.map((s, q) => (k + 2) * U32 * s + 4 * U32 * Math.abs(want[q]));
      expectClose(got, want, tol, `relaxed gemmNTBackward ${act}`);
    });

    it('trains through the facade like the default build', async () => {
      const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
      const y = [0, 1, 1, 0];
      const losses: number[] = [];
      for (const relaxedSimd of [false, true]) {
        const model = await sequential({ layers: XOR_LAYERS, relaxedSimd, seed: 3 });
        expect(model.backend.relaxed).toBe(relaxedSimd);
        model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 } });
        const history = await model.fit(x, y, { epochs: 200, batchSize: 4, seed: 1 });
        losses.push(history.history.loss.at(-1)!);
        model.dispose();
      }
      expect(losses[1]).toBeLessThan(0.1);
      // The same curve up to rounding: a few last-bit differences per step do not add up to much here.
      expect(Math.abs(losses[1] - losses[0])).toBeLessThan(1e-3 + 1e-2 * losses[0]);
    });
  });
});
