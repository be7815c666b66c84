/**
 * The non-finite guard's error. Each training step checks the loss and the whole gradient region
 * (one allFinite call) before the optimizer update (see fit.ts), so weights never take a NaN or
 * infinite step: when training diverges, fit stops with NonFiniteError and the model keeps its
 * last finite weights.
 */
import { SimdnetError } from './errors.js';

export type NonFiniteQuantity = 'loss' | 'gradients';

/** Thrown by fit when the loss or a gradient became NaN or ±Infinity. */
export class NonFiniteError extends SimdnetError {
  /** Epoch and batch (counted from 0, as in callbacks) of the step that was refused. */
  readonly epoch: number;
  readonly batch: number;
  readonly quantity: NonFiniteQuantity;

  constructor(where: string, epoch: number, batch: number, quantity: NonFiniteQuantity, loss: number) {
    const what = quantity === 'loss' ? `the loss became ${loss}` : `a gradient became NaN or infinite (the loss was ${loss})`;
    super(
      'loss',
      `${where}: ${what} in epoch ${epoch}, batch ${batch} (counted from 0); training stopped before that ` +
        'update, so the model keeps its last finite weights. Usual causes: a learning rate too high ' +
        '(try one 10 times smaller), inputs that are not scaled (standardise each feature to mean 0 and ' +
        'standard deviation 1), or regression targets on a very large scale.',
    );
    this.name = 'NonFiniteError';
    this.epoch = epoch;
    this.batch = batch;
    this.quantity = quantity;
  }
}
