// The multiply-add of every GEMM (gemm.ts, sparse.ts): one definition, so that the dense and the
// sparse products round each term alike. Not a kernel family: index.ts does not export it.

/**
 * acc + a·b per lane. The default build multiplies then adds (two roundings, the same bits on every
 * engine); the relaxed-SIMD build (asconfig target release-relaxed) uses relaxed_madd, which engines
 * lower to one FMA where the CPU has it: one rounding, so results may differ in the last bit.
 */
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}
