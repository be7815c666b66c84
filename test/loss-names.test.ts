/**
 * Loss names and their aliases at the API: compile() takes 'bce', 'cce' and 'mse' as well as the
 * full names, and the model keeps the full name (what model.save() writes and the file reader
 * takes); anything else is refused with the names listed. The optimizer names and default
 * learning rates exported next to them are the ones compile() applies.
 */
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, type ModelHeader } from '../src/io/snet.js';
import {
  DEFAULT_LEARNING_RATES, dense, LOSS_ALIASES, LOSS_NAMES, loadModel, moons, OPTIMIZER_NAMES, sequential, SimdnetError,
  type ActivationName, type LossAlias, type LossName, type Sequential,
} from '../src/index.js';

const { x: X, y: Y } = moons(32, 3);

/** An output layer each loss fits. */
const OUTPUT: Record<LossName, { units: number; activation: ActivationName }> = {
  binaryCrossentropy: { units: 1, activation: 'sigmoid' },
  categoricalCrossentropy: { units: 2, activation: 'softmax' },
  meanSquaredError: { units: 1, activation: 'sigmoid' },
  meanAbsoluteError: { units: 1, activation: 'sigmoid' },
  huber: { units: 1, activation: 'sigmoid' },
};

async function model(loss: LossName): Promise<Sequential> {
  return sequential({
    layers: [dense({ units: 4, activation: 'tanh', inputShape: [2] }), dense(OUTPUT[loss])],
    backend: 'js',
    seed: 7,
  });
}

function savedLoss(m: Sequential): unknown {
  return decodeModel('test', m.save()).compiled?.loss;
}

describe('loss names and aliases', () => {
  it('the table: five names, each with one alias', () => {
    expect(LOSS_NAMES).toEqual(['binaryCrossentropy', 'categoricalCrossentropy', 'meanSquaredError', 'meanAbsoluteError', 'huber']);
    expect(LOSS_ALIASES).toEqual({
      bce: 'binaryCrossentropy', cce: 'categoricalCrossentropy', mse: 'meanSquaredError', mae: 'meanAbsoluteError', huberLoss: 'huber',
    });
    expect(Object.isFrozen(LOSS_NAMES) && Object.isFrozen(LOSS_ALIASES)).toBe(true);
  });

  it.each(Object.entries(LOSS_ALIASES) as [LossAlias, LossName][])(
    "compile({ loss: '%s' }) is compile({ loss: '%s' }): the model keeps and saves the full name",
    async (alias, name) => {
      const byAlias = await model(name);
      const byName = await model(name);
      try {
        byAlias.compile({ loss: alias, optimizer: 'sgd', metrics: ['accuracy'] });
        byName.compile({ loss: name, optimizer: 'sgd', metrics: ['accuracy'] });
        const a = await byAlias.fit(X, Y, { epochs: 2, batchSize: 8, seed: 1 });
        const b = await byName.fit(X, Y, { epochs: 2, batchSize: 8, seed: 1 });
        expect(a.history).toEqual(b.history);
        expect(byAlias.getWeights()).toEqual(byName.getWeights());
        expect(savedLoss(byAlias)).toBe(name);
        const loaded = await loadModel(byAlias.save(), { backend: 'js' });
        try {
          expect(savedLoss(loaded)).toBe(name);
          expect(loaded.evaluate(X, Y)).toEqual(byName.evaluate(X, Y));
        } finally {
          loaded.dispose();
        }
      } finally {
        byAlias.dispose();
        byName.dispose();
      }
    },
  );

  it("an alias still has to fit the output layer: 'cce' on a sigmoid output is refused by its name", async () => {
    const m = await model('binaryCrossentropy');
    try {
      expect(() => m.compile({ loss: 'cce' })).toThrow(/loss 'categoricalCrossentropy' needs a 'softmax' output layer/);
    } finally {
      m.dispose();
    }
  });

  it.each(['hinge', 'MSE', 'mean_squared_error', 'toString', '', 1, null, undefined])(
    'an unknown loss (%s) is refused, with the names and aliases listed',
    async (loss) => {
      const m = await model('meanSquaredError');
      try {
        m.compile({ loss: 'mse' });
        const before = savedLoss(m);
        let caught: unknown;
        try {
          m.compile({ loss: loss as LossName });
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(SimdnetError);
        expect((caught as SimdnetError).argument).toBe('loss');
        expect((caught as SimdnetError).message).toMatch(
          new RegExp(
            '^compile\\(\\): loss must be one of binaryCrossentropy \\(bce\\), categoricalCrossentropy \\(cce\\), ' +
              'meanSquaredError \\(mse\\), meanAbsoluteError \\(mae\\), huber \\(huberLoss\\), got ',
          ),
        );
        expect(savedLoss(m)).toBe(before);
      } finally {
        m.dispose();
      }
    },
  );

  it('a model file holds full names: an alias in its header is refused', async () => {
    const m = await model('meanSquaredError');
    try {
      m.compile({ loss: 'mse' });
      const file = decodeModel('test', m.save({ includeOptimizer: false }));
      const header: ModelHeader = {
        layers: file.layers, loss: 'mse' as LossName, optimizer: file.compiled!.optimizer, metrics: file.compiled!.metrics,
        step: file.step, seed: file.seed, metadata: file.metadata, paramCount: file.params.length, stateSlots: 0, shuffleState: file.shuffleState!,
      };
      await expect(loadModel(encodeModel(header, file.params, file.state), { backend: 'js' })).rejects.toThrow(
        /compile settings are invalid: loss must be one of binaryCrossentropy, categoricalCrossentropy, meanSquaredError, meanAbsoluteError, huber, got "mse"/,
      );
      // The same header with the full name loads: the refusal is the alias's.
      const loaded = await loadModel(encodeModel({ ...header, loss: 'meanSquaredError' }, file.params, file.state), { backend: 'js' });
      loaded.dispose();
    } finally {
      m.dispose();
    }
  });
});

describe('optimizer names and default learning rates', () => {
  it('are the ones compile() applies', async () => {
    expect(OPTIMIZER_NAMES).toEqual(['sgd', 'momentum', 'adam', 'adamw', 'rmsprop', 'adagrad']);
    expect(DEFAULT_LEARNING_RATES).toEqual({ sgd: 0.01, momentum: 0.01, adam: 0.001, adamw: 0.001, rmsprop: 0.001, adagrad: 0.001 });
    expect(Object.isFrozen(OPTIMIZER_NAMES) && Object.isFrozen(DEFAULT_LEARNING_RATES)).toBe(true);
    const m = await model('meanSquaredError');
    try {
      for (const name of OPTIMIZER_NAMES) {
        m.compile({ loss: 'mse', optimizer: name });
        expect(decodeModel('test', m.save()).compiled?.optimizer.learningRate).toBe(DEFAULT_LEARNING_RATES[name]);
      }
    } finally {
      m.dispose();
    }
  });
});
