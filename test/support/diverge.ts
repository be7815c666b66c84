/**
 * A fit that is expected to diverge, with the weights after each of its last two completed steps:
 * what the non-finite guard must keep (test/reliability.test.ts, test/batchnorm-training.test.ts).
 */
import type { Sequential } from '../../src/index.js';

type X = Parameters<Sequential['fit']>[0];
type Y = Parameters<Sequential['fit']>[1];

export interface Diverged {
  /** What fit rejected with (undefined if it resolved). */
  error: unknown;
  /** The weights after the step before the last completed one, and after the last one. */
  previous: Float32Array[];
  last: Float32Array[];
  /** Completed steps. */
  steps: number;
}

/** fit for 50 epochs of batches of 8 (seed 1), recording the weights after every batch. */
export async function fitUntilDiverged(model: Sequential, x: X, y: Y): Promise<Diverged> {
  let previous = model.getWeights();
  let last = previous;
  let steps = 0;
  const onBatchEnd = (): void => {
    previous = last;
    last = model.getWeights();
    steps++;
  };
  const error = await model.fit(x, y, { epochs: 50, batchSize: 8, seed: 1, callbacks: { onBatchEnd } }).then(() => undefined, (e: unknown) => e);
  return { error, previous, last, steps };
}
