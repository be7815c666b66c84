/**
 * Losses: names, which output activation each one fits, and the call that turns the output layer's
 * logits and activations into the loss value and dZ_L, the gradient the backward pass starts from.
 */
import { ACTIVATION, type Backend, type Ptr } from './backend/backend.js';
import { invalid, SimdnetError } from './errors.js';
import type { LayerSpec } from './layers.js';

export type LossName = 'binaryCrossentropy' | 'categoricalCrossentropy' | 'meanSquaredError';
/** The short names compile() and the command line also take: 'mse' for 'meanSquaredError', …. */
export type LossAlias = 'bce' | 'cce' | 'mse';

/**
 * The losses: each alias and the name it stands for. A model keeps the name (model.save() writes
 * it, the file reader in io/snet.ts takes names only), whichever of the two compile() was given.
 */
export const LOSS_ALIASES: Readonly<Record<LossAlias, LossName>> = Object.freeze({
  bce: 'binaryCrossentropy',
  cce: 'categoricalCrossentropy',
  mse: 'meanSquaredError',
});
export const LOSS_NAMES: readonly LossName[] = Object.freeze(Object.values(LOSS_ALIASES));

/** The name of a loss given by its name or its alias; undefined for anything else. */
export function lossNamed(value: unknown): LossName | undefined {
  if (typeof value !== 'string') return undefined;
  if ((LOSS_NAMES as readonly string[]).includes(value)) return value as LossName;
  return Object.hasOwn(LOSS_ALIASES, value) ? LOSS_ALIASES[value as LossAlias] : undefined;
}

/** compile()'s loss, a name or an alias, as its name; anything else is refused with the list of both. */
export function resolveLoss(where: string, loss: unknown): LossName {
  const name = lossNamed(loss);
  if (name === undefined) {
    const listed = Object.entries(LOSS_ALIASES).map(([alias, full]) => `${full} (${alias})`);
    throw invalid(where, 'loss', `one of ${listed.join(', ')}`, loss);
  }
  return name;
}

/**
 * The cross-entropies are computed from the logits together with their activation, which is what
 * makes them stable and their gradient the simple (A − Y)/m; so each needs its own activation.
 * Takes names only: compile() resolves an alias first (resolveLoss), and model files hold names.
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
 * logits) into `dz`. The loss is stored rather than returned (docs/ARCHITECTURE.md, 'Number boxing').
 *
 * sigmoid + binary cross-entropy and softmax + categorical cross-entropy fuse to dZ_L = (A − Y)/m
 * (per output for BCE: /(m·n)): dZ = A − Y with the 1/m of the mean folded in here, once
 * (docs/ARCHITECTURE.md, 'Where the math lives').
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
