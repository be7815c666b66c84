/**
 * Learning-rate schedules (Keras' ExponentialDecay, PiecewiseConstantDecay, CosineDecay with linear
 * warmup), the lr that history records, ReduceLROnPlateau, and the schedule's position and the
 * lowered rate surviving save and load.
 */
import { describe, expect, it } from 'vitest';
import { dense, learningRateAt, loadModel, moons, sequential, SimdnetError, type LearningRateSchedule, type Schedule } from '../src/index.js';
import { parseSchedule } from '../src/schedules.js';
import { BACKEND_NAMES } from './backends.js';

const at = (s: LearningRateSchedule, step: number): number => learningRateAt(parseSchedule('test', 's', s), step);

describe('schedule formulas (Keras)', () => {
  it('exponentialDecay: lr₀·rate^(step/decaySteps), floored with staircase', () => {
    const s = { type: 'exponentialDecay', initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 } as const;
    expect(at(s, 0)).toBe(0.1);
    expect(at(s, 10)).toBeCloseTo(0.05, 15);
    expect(at(s, 5)).toBeCloseTo(0.1 * Math.SQRT1_2, 15);
    expect(at({ ...s, staircase: true }, 19)).toBeCloseTo(0.05, 15);
    expect(at({ ...s, staircase: true }, 20)).toBeCloseTo(0.025, 15);
  });

  it('piecewiseConstant: values[i] up to and including boundaries[i]', () => {
    const s = { type: 'piecewiseConstant', boundaries: [3, 7], values: [1, 0.5, 0.1] } as const;
    expect([0, 3, 4, 7, 8, 100].map((t) => at(s, t))).toEqual([1, 1, 0.5, 0.5, 0.1, 0.1]);
  });

  it('cosineDecay: ½(1 + cos(π·t/T)) from the peak to α·peak, after a linear warmup', () => {
    const s = { type: 'cosineDecay', initialLearningRate: 0.2, decaySteps: 100, alpha: 0.1 } as const;
    expect(at(s, 0)).toBeCloseTo(0.2, 15);
    expect(at(s, 50)).toBeCloseTo(0.2 * (0.9 * 0.5 + 0.1), 15);
    expect(at(s, 100)).toBeCloseTo(0.02, 15);
    expect(at(s, 1000)).toBeCloseTo(0.02, 15);
    const w = { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 10, warmupTarget: 1, warmupSteps: 4 } as const;
    expect([0, 1, 2, 3].map((t) => at(w, t))).toEqual([0, 0.25, 0.5, 0.75]);
    expect(at(w, 4)).toBe(1);
    expect(at(w, 9)).toBeCloseTo(0.5, 15);
    expect(at(w, 14)).toBeCloseTo(0, 15);
  });

  it('bad schedules are refused, naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ type: 'linear' }, /optimizer\.learningRate must be a positive number or a schedule/],
      [{ type: 'exponentialDecay', initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }, /decaySteps must be a positive integer/],
      [{ type: 'piecewiseConstant', boundaries: [5, 3], values: [1, 2, 3] }, /boundaries must be an increasing array/],
      [{ type: 'piecewiseConstant', boundaries: [5], values: [1] }, /values must be 2 positive numbers/],
      [{ type: 'cosineDecay', initialLearningRate: 0.1, decaySteps: 10, alpha: 2 }, /alpha must be a number in \[0, 1\]/],
    ];
    for (const [schedule, message] of bad) {
      expect(() => parseSchedule('compile()', 'optimizer.learningRate', schedule)).toThrow(SimdnetError);
      expect(() => parseSchedule('compile()', 'optimizer.learningRate', schedule)).toThrow(message);
    }
  });
});

describe.each(BACKEND_NAMES)('schedules and ReduceLROnPlateau in fit (%s)', (backend) => {
  const { x, y } = moons(40, 5);
  const make = () => sequential({
    layers: [dense({ units: 6, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    backend, seed: 2,
  });

  it('each update uses the schedule at its step: the same weights as compiling each step with that rate', async () => {
    const schedule = { type: 'cosineDecay', initialLearningRate: 0.01, decaySteps: 6, warmupTarget: 0.5, warmupSteps: 2 } as const;
    const scheduled = await make();
    const stepwise = await make();
    try {
      scheduled.compile({ loss: 'bce', optimizer: { type: 'sgd', learningRate: schedule } });
      // One batch of all rows per epoch: step k is epoch k.
      const history = await scheduled.fit(x, y, { epochs: 8, batchSize: 40, shuffle: false });
      for (let k = 0; k < 8; k++) {
        stepwise.compile({ loss: 'bce', optimizer: { type: 'sgd', learningRate: at(schedule, k) } });
        await stepwise.fit(x, y, { epochs: 1, batchSize: 40, shuffle: false });
      }
      expect(scheduled.getWeights()).toEqual(stepwise.getWeights());
      expect(history.history.lr).toEqual(Array.from({ length: 8 }, (_, k) => at(schedule, k)));
    } finally {
      scheduled.dispose();
      stepwise.dispose();
    }
  });

  it('a model saved mid-schedule resumes where it was (Adam with exponential decay)', async () => {
    const optimizer = { type: 'adam', learningRate: { type: 'exponentialDecay', initialLearningRate: 0.05, decaySteps: 3, decayRate: 0.7 } } as const;
    const straight = await make();
    straight.compile({ loss: 'bce', optimizer });
    await straight.fit(x, y, { epochs: 6, batchSize: 8, seed: 3 });
    const half = await make();
    half.compile({ loss: 'bce', optimizer });
    await half.fit(x, y, { epochs: 3, batchSize: 8, seed: 3 });
    const loaded = await loadModel(half.save(), { backend });
    const rest = await loaded.fit(x, y, { epochs: 6, initialEpoch: 3, batchSize: 8, seed: 3 });
    expect(loaded.getWeights()).toEqual(straight.getWeights());
    // 5 batches an epoch: epoch 5's last update is step 29.
    expect(rest.history.lr?.at(-1)).toBe(at(optimizer.learningRate, 29));
    for (const m of [straight, half, loaded]) m.dispose();
  });

  it('reduceLROnPlateau multiplies the rate by factor after patience epochs without improvement, with cooldown and minLr; save keeps it', async () => {
    const model = await make();
    try {
      model.compile({ loss: 'bce', optimizer: { type: 'sgd', learningRate: 0.1 } });
      // minDelta 10: only the first epoch counts as an improvement.
      const { history } = await model.fit(x, y, {
        epochs: 9, batchSize: 40, reduceLROnPlateau: { monitor: 'loss', factor: 0.5, patience: 2, minDelta: 10, cooldown: 1, minLr: 0.02 },
      });
      // Keras' rule: e0 improves; e1, e2 wait → 0.05 after e2 (cooldown 1); e3 ends the cooldown and
      // waits; e4 → 0.025; e5 waits; e6 → 0.0125, raised to minLr 0.02. history.lr is each epoch's rate.
      expect(history.lr).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02]);
      const loaded = await loadModel(model.save(), { backend });
      const more = await loaded.fit(x, y, { epochs: 1, batchSize: 40 });
      expect(more.history.lr).toEqual([0.02]);
      loaded.dispose();
    } finally {
      model.dispose();
    }
  });

  it('reduceLROnPlateau with a schedule is refused', async () => {
    const model = await make();
    model.compile({ loss: 'bce', optimizer: { type: 'sgd', learningRate: { type: 'piecewiseConstant', boundaries: [2], values: [0.1, 0.01] } as Schedule } });
    await expect(model.fit(x, y, { reduceLROnPlateau: { monitor: 'loss' } })).rejects.toThrow(/reduceLROnPlateau lowers a constant learning rate/);
    model.dispose();
  });
});
