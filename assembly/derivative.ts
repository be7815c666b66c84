// Activation codes and the elementwise derivative product, shared by activationBackward and the
// fused backward GEMM so that both give the same bits for the same inputs. Not a kernel family:
// index.ts does not export it.
//
// Activation codes match ACTIVATION in the TypeScript backend interface.
export const LINEAR = 0;
export const SIGMOID = 1;
export const TANH = 2;
export const RELU = 3;
export const LEAKY_RELU = 4;
export const SOFTMAX = 5;

/**
 * dA ⊙ g'(z) per lane, with g' written from the forward output a = g(z): sigmoid a(1−a), tanh 1−a²,
 * relu [a>0], leakyRelu a>0 ? 1 : alpha, linear 1. Softmax is not elementwise and not handled here.
 * act is a constant after inlining.
 */
@inline export function derivv(act: i32, a: v128, d: v128, alpha: v128, one: v128, zero: v128): v128 {
  if (act == SIGMOID) return f32x4.mul(d, f32x4.mul(a, f32x4.sub(one, a)));
  if (act == TANH) return f32x4.mul(d, f32x4.sub(one, f32x4.mul(a, a)));
  if (act == RELU) return v128.and(d, f32x4.gt(a, zero));
  if (act == LEAKY_RELU) return v128.bitselect(d, f32x4.mul(alpha, d), f32x4.gt(a, zero));
  return d;
}

/** derivv for one float, with the same operations in the same order (so the same bits). */
@inline export function derivs(act: i32, a: f32, d: f32, alpha: f32): f32 {
  if (act == SIGMOID) return d * (a * (1 - a));
  if (act == TANH) return d * (1 - a * a);
  if (act == RELU) return a > 0 ? d : 0;
  if (act == LEAKY_RELU) return a > 0 ? d : alpha * d;
  return d;
}
