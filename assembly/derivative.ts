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
export const ELU = 6;
export const SELU = 7;
export const SOFTPLUS = 8;
export const SWISH = 9;
export const GELU = 10;
export const RELU6 = 11;

// selu's λ and λ·α (Klambauer et al. 2017), as TensorFlow.js has them.
export const SELU_SCALE: f32 = 1.0507009873554805;
export const SELU_SCALE_ALPHA: f32 = 1.7580993408473766;

/**
 * Whether g' is written from the pre-activation z (softplus, swish, gelu: see derivativeFromZ in
 * src/backend/backend.ts); derivv and derivs do not handle those.
 */
@inline export function fromZ(act: i32): bool {
  return act == SOFTPLUS || act == SWISH || act == GELU;
}

/**
 * dA ⊙ g'(z) per lane, with g' written from the forward output a = g(z): sigmoid a(1−a), tanh 1−a²,
 * relu [a>0], leakyRelu a>0 ? 1 : alpha, elu a>0 ? 1 : a+1, selu a>0 ? λ : a+λα, relu6 [0<a<6],
 * linear 1. Softmax is not elementwise and not handled here, nor are the activations of fromZ.
 * act is a constant after inlining. selu's and relu6's constants are splatted here: their callers
 * are the backward GEMM's epilogue (once per finished tile) and the output layer's backward pass.
 */
@inline export function derivv(act: i32, a: v128, d: v128, alpha: v128, one: v128, zero: v128): v128 {
  if (act == SIGMOID) return f32x4.mul(d, f32x4.mul(a, f32x4.sub(one, a)));
  if (act == TANH) return f32x4.mul(d, f32x4.sub(one, f32x4.mul(a, a)));
  if (act == RELU) return v128.and(d, f32x4.gt(a, zero));
  if (act == LEAKY_RELU) return v128.bitselect(d, f32x4.mul(alpha, d), f32x4.gt(a, zero));
  if (act == ELU) return v128.bitselect(d, f32x4.mul(d, f32x4.add(a, one)), f32x4.gt(a, zero));
  if (act == SELU) {
    return v128.bitselect(f32x4.mul(d, f32x4.splat(SELU_SCALE)), f32x4.mul(d, f32x4.add(a, f32x4.splat(SELU_SCALE_ALPHA))),
      f32x4.gt(a, zero));
  }
  if (act == RELU6) return v128.and(d, v128.and(f32x4.gt(a, zero), f32x4.lt(a, f32x4.splat(6))));
  return d;
}

/** derivv for one float, with the same operations in the same order (so the same bits). */
@inline export function derivs(act: i32, a: f32, d: f32, alpha: f32): f32 {
  if (act == SIGMOID) return d * (a * (1 - a));
  if (act == TANH) return d * (1 - a * a);
  if (act == RELU) return a > 0 ? d : 0;
  if (act == LEAKY_RELU) return a > 0 ? d : alpha * d;
  if (act == ELU) return a > 0 ? d : d * (a + 1);
  if (act == SELU) return a > 0 ? d * SELU_SCALE : d * (a + SELU_SCALE_ALPHA);
  if (act == RELU6) return a > 0 && a < 6 ? d : 0;
  return d;
}
