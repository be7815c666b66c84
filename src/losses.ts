/**
 * Losses: names, which output activation each one fits, and the call that turns the output layer's
 * logits and activations into the loss value and dZ_L, the gradient the backward pass starts from.
 */
import { ACTIVATION, type Backend, type Ptr } from './backend/backend.js';
import { invalid, SimdnetError } from './errors.js';
import type { LayerSpec } from './layers.js';

export type LossName = 'binaryCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError';
export const LOSS_NAMES: readonly LossName[] = ['binaryCrossentropy', 'categoricalCrossentropy', 'meanSquaredError'];

/**
 * The cross-entropies are computed from the logits together with their activation, which is what
 * makes them stable and their gradient the simple (A − Y)/m; so each needs its own activation.
 */
export function checkLoss(where: string, loss: unknown, output: LayerSpec): LossName {
  if (typeof loss !== 'string' || !(LOSS_NAMES as readonly string[]).includes(loss)) {
    throw invalid(where, 'loss', `one of ${LOSS_NAMES.join(', ')}`, loss);
  }
  const act = output.activation;
  const fits =
    loss === 'binaryCrossentropy' ? act === 'sigmoid' : loss === 'categoricalCrossentropy' ? act === 'softmax' : act !== 'softmax';
  if (!fits) {
    const need =
      loss === 'binaryCrossentropy'
        ? "a 'sigmoid' output layer"
        : loss === 'categoricalCrossentropy'
          ? "a 'softmax' output layer"
          : "an output layer that is not 'softmax' (use categoricalCrossentropy with softmax)";
    throw new SimdnetError('loss', `${where}: loss '${loss}' needs ${need}, but the output layer's activation is '${act}'`);
  }
  return loss as LossName;
}

/**
 * Loss over a batch of m rows, left in out.lastLoss; writes dZ_L (the gradient w.r.t. the output
 * logits) into `dz`. The loss is stored rather than returned: a double returned from a call V8 does
 * not inline is boxed into a new heap object, and a training step allocates nothing.
 *
 * sigmoid + binary cross-entropy and softmax + categorical cross-entropy fuse to dZ_L = (A − Y)/m
 * (per output for BCE: /(m·n)), the seeds' dZ = A − Y with their 1/m folded in here, once.
 * Mean squared error gives dA = 2(A − Y)/(m·n), then dZ_L = dA ⊙ g'(Z_L) (nothing to do for linear).
 */
export function lossAndGradient(
  backend: Backend, loss: LossName, output: LayerSpec,
  logits: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, out: { lastLoss: number },
): void {
  const n = output.units;
  if (loss === 'binaryCrossentropy') {
    out.lastLoss = backend.lossSigmoidBce(logits, a, y, dz, m, n);
  } else if (loss === 'categoricalCrossentropy') {
    out.lastLoss = backend.lossSoftmaxCce(logits, a, y, dz, m, n);
  } else {
    out.lastLoss = backend.lossMse(a, y, dz, m, n);
    if (output.code !== ACTIVATION.linear) backend.activationBackward(output.code, a, dz, dz, m, n, output.alpha);
  }
}
