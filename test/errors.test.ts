/**
 * Bad inputs are refused at the facade with a SimdnetError that names the argument, before any
 * kernel runs: the model's weights (and compile settings) are the same afterwards.
 */
import { describe, expect, it } from 'vitest';
import { dense, loadModel, sequential, SimdnetError, type Sequential } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';

const X = [[0, 1], [1, 0], [1, 1], [0, 0]];
const Y = [1, 1, 0, 0];

/** Asserts `run` throws (or rejects with) a SimdnetError whose message names `argument`. */
async function expectRefused(run: () => unknown, argument: string | RegExp): Promise<SimdnetError> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a SimdnetError').toBeInstanceOf(SimdnetError);
  const error = caught as SimdnetError;
  expect(error.message).toMatch(typeof argument === 'string' ? new RegExp(`\\b${argument.replace(/[[\].]/g, '\\$&')}`) : argument);
  return error;
}

describe('layer and model configs', () => {
  const cases: [string, string | RegExp, () => unknown][] = [
    ['units 0', 'units', () => dense({ units: 0 })],
    ['units 2.5', 'units', () => dense({ units: 2.5 })],
    ['unknown activation', 'activation', () => dense({ units: 2, activation: 'mish' as 'relu' })],
    ['unknown initializer', 'kernelInitializer', () => dense({ units: 2, kernelInitializer: 'ones' as 'zeros' })],
    ['misspelt option', /inputshape/, () => dense({ units: 2, inputshape: [2] } as unknown as { units: number })],
    ['inputShape not [n]', 'inputShape', () => dense({ units: 2, inputShape: [2, 3] as unknown as [number] })],
    ['no layers', 'layers', () => sequential({ layers: [], backend: 'js' })],
    ['no inputShape on the first layer', 'layers[0].inputShape', () => sequential({ layers: [dense({ units: 2 })], backend: 'js' })],
    ['inconsistent inputShape later', 'layers[1].inputShape', () => sequential({
      layers: [dense({ units: 4, inputShape: [2] }), dense({ units: 1, inputShape: [3] })], backend: 'js',
    })],
    ['zeros on a hidden layer', /layers\[0\]\.kernelInitializer.*symmetry/, () => sequential({
      layers: [dense({ units: 4, inputShape: [2], kernelInitializer: 'zeros' }), dense({ units: 1 })], backend: 'js',
    })],
    ['unknown backend', 'backend', () => sequential({ layers: [dense({ units: 1, inputShape: [2] })], backend: 'gpu' as 'js' })],
    ['seed not an integer', 'seed', () => sequential({ layers: [dense({ units: 1, inputShape: [2] })], backend: 'js', seed: 1.5 })],
    ['bytes not a model', 'bytes', () => loadModel(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), { backend: 'js' })],
  ];
  it.each(cases)('%s', async (_, argument, run) => {
    await expectRefused(run, argument);
  });

  it("'zeros' is allowed on the output layer (logistic regression from zero)", async () => {
    const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [2], kernelInitializer: 'zeros' })], backend: 'js' });
    expect(Array.from(model.getWeights()[0])).toEqual([0, 0]);
    model.dispose();
  });
});

describe.each(BACKEND_NAMES)('refused calls leave the model unchanged on %s', (backend) => {
  const build = async (output: 'sigmoid' | 'softmax' = 'sigmoid', units = 1): Promise<Sequential> => {
    const model = await sequential({
      layers: [dense({ units: 3, activation: 'relu', inputShape: [2] }), dense({ units, activation: output })],
      backend,
      seed: 7,
    });
    return model;
  };
  const compiled = async (): Promise<Sequential> => {
    const model = await build();
    model.compile({ loss: 'binaryCrossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
    return model;
  };

  const cases: [string, string | RegExp, (m: Sequential) => unknown][] = [
    ['x and y row counts differ', 'y', (m) => m.fit(X, [1, 0, 1])],
    ['x with the wrong number of columns', 'x', (m) => m.fit([[1, 2, 3]], [1])],
    ['x ragged', /x\[1\]/, (m) => m.fit([[1, 2], [3]], [1, 0])],
    ['x one-dimensional', 'x', (m) => m.fit([1, 2] as unknown as number[][], [1])],
    ['x shape and data disagree', /x\.data/, (m) => m.fit({ data: new Float32Array(5), shape: [2, 2] }, [1, 0])],
    ['NaN in x', /x.*NaN/, (m) => m.fit([[0, 1], [NaN, 0]], [1, 0])],
    ['Infinity in x', /x.*Infinity/, (m) => m.predict([[0, Infinity]])],
    // Past the SIMD kernel's 16-float blocks, and in validation data: the message still points at the entry.
    ['NaN deep in a large x', /got NaN at x\[37\]\[1\]/, (m) => m.fit({ data: new Float32Array(100).fill(0.5).fill(NaN, 75, 76), shape: [50, 2] }, new Array(50).fill(1))],
    ['NaN in validationData[0]', /got NaN at validationData\[0\]\[1\]\[0\]/, (m) => m.fit(X, Y, { validationData: [[[0, 1], [NaN, 0]], [1, 0]] })],
    ['-Infinity in y', /y.*-Infinity/, (m) => m.fit(X, [1, -Infinity, 0, 0])],
    ['float32 overflow in x', /x.*Infinity/, (m) => m.evaluate([[1e39, 0]], [1])],
    ['label width ≠ output units', /y must have 1 column \(/, (m) => m.fit(X, [[1, 0], [0, 1], [1, 0], [0, 1]])],
    // A bad cell is named with its value, rather than its row described as an array.
    ['a string in a row of x', /x\[1\]\[1\] must be a number .*got "a"/, (m) => m.fit([[0, 1], [1, 'a'], [1, 1], [0, 0]] as number[][], Y)],
    ['null in the first row of x', /x\[0\]\[0\] must be a number .*got null/, (m) => m.predict([[null, 1]] as unknown as number[][])],
    ['a string in x.data', /x\.data\[2\] must be a number .*got "0\.5"/, (m) => m.predict({ data: [0, 1, '0.5', 1], shape: [2, 2] } as unknown as number[][])],
    ['string labels', /y\[0\] must be a number, the target of the single output .*got "cat"/, (m) => m.fit(X, ['cat', 'dog', 'cat', 'dog'] as unknown as number[])],
    ['a null label', /y\[2\] must be a number.*got null/, (m) => m.evaluate(X, [1, 0, null, 1] as unknown as number[])],
    ['too few rows for a validation split', /validationSplit 0\.5 of 1 row must/, (m) => m.fit([[0, 1]], [1], { validationSplit: 0.5 })],
    ['binary labels outside [0, 1]', 'y', (m) => m.fit(X, [1, 2, 0, 0])],
    ['batchSize 0', 'batchSize', (m) => m.fit(X, Y, { batchSize: 0 })],
    ['batchSize 2.5', 'batchSize', (m) => m.fit(X, Y, { batchSize: 2.5 })],
    ['epochs 0', 'epochs', (m) => m.fit(X, Y, { epochs: 0 })],
    ['epochs -1', 'epochs', (m) => m.fit(X, Y, { epochs: -1 })],
    ['validationSplit 1', 'validationSplit', (m) => m.fit(X, Y, { validationSplit: 1 })],
    ['validationSplit -0.1', 'validationSplit', (m) => m.fit(X, Y, { validationSplit: -0.1 })],
    ['validationSplit leaving no training rows', 'validationSplit', (m) => m.fit(X, Y, { validationSplit: 0.9 })],
    ['validationData not a pair', 'validationData', (m) => m.fit(X, Y, { validationData: [X] as unknown as [number[][], number[]] })],
    ['validationData rows differ', /validationData\[1\]/, (m) => m.fit(X, Y, { validationData: [X, [1, 0]] })],
    ['misspelt fit option', /batch_size/, (m) => m.fit(X, Y, { batch_size: 4 } as object)],
    ['callback not a function', /callbacks\.onEpochEnd/, (m) => m.fit(X, Y, { callbacks: { onEpochEnd: 3 as unknown as () => void } })],
    ['unknown loss', 'loss', (m) => m.compile({ loss: 'hinge' as 'meanSquaredError' })],
    ['categoricalCrossentropy on a sigmoid output', /loss.*softmax/, (m) => m.compile({ loss: 'categoricalCrossentropy' })],
    ['unknown optimizer', 'optimizer', (m) => m.compile({ loss: 'binaryCrossentropy', optimizer: 'lamb' as 'sgd' })],
    ['optimizer option misspelt', /optimizer.*lr/, (m) => m.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', lr: 0.1 } as unknown as 'adam' })],
    ['learningRate ≤ 0', 'optimizer.learningRate', (m) => m.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'sgd', learningRate: 0 } })],
    ['beta ≥ 1', 'optimizer.beta', (m) => m.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'momentum', beta: 1 } })],
    ['unknown metric', /metrics\[1\] must be one of accuracy, acc, .*mse.*mae.*, got "f1"/, (m) => m.compile({ loss: 'binaryCrossentropy', metrics: ['acc', 'f1' as 'accuracy'] })],
    ['metrics not an array', /metrics must be an array of metric names/, (m) => m.compile({ loss: 'binaryCrossentropy', metrics: 'accuracy' as unknown as ['accuracy'] })],
    ['setWeights with a wrong length', /weights\[2\]/, (m) => m.setWeights(m.getWeights().map((w, i) => (i === 2 ? w.slice(1) : w)))],
    ['setWeights with NaN', /weights\[1\]/, (m) => m.setWeights(m.getWeights().map((w, i) => (i === 1 ? w.map(() => NaN) : w)))],
    ['predict batchSize 0', 'batchSize', (m) => m.predict(X, { batchSize: 0 })],
    ['metadata not JSON', 'metadata', (m) => m.save({ metadata: { big: 1n } })],
  ];

  it.each(cases)('%s', async (_, argument, run) => {
    const model = await compiled();
    try {
      const before = model.getWeights();
      await expectRefused(() => run(model), argument);
      expect(model.getWeights()).toEqual(before);
      // Still compiled as before: a refused compile() keeps the old settings.
      expect(model.evaluate(X, Y).acc).toBeDefined();
    } finally {
      model.dispose();
    }
  });

  it('class index out of range or not an integer (softmax output)', async () => {
    const model = await build('softmax', 3);
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      const before = model.getWeights();
      const error = await expectRefused(() => model.fit(X, [0, 1, 3, 2]), /y\[2\].*\[0, 2\].*got 3/);
      expect(error.argument).toBe('y');
      await expectRefused(() => model.fit(X, [0, 1.5, 2, 2]), /y\[1\].*got 1\.5/);
      await expectRefused(() => model.fit(X, [[1, 0, 0], [0, 0.5, 0], [0, 0, 1], [1, 0, 0]]), /y\[1\].*sum to 1/);
      expect(model.getWeights()).toEqual(before);
    } finally {
      model.dispose();
    }
  });

  it('loss that does not fit the output activation', async () => {
    const model = await build('softmax', 3);
    try {
      await expectRefused(() => model.compile({ loss: 'binaryCrossentropy' }), /loss.*sigmoid.*'softmax'/);
      await expectRefused(() => model.compile({ loss: 'meanSquaredError' }), /loss.*softmax/);
    } finally {
      model.dispose();
    }
  });

  it('fit and evaluate before compile', async () => {
    const model = await build();
    try {
      const before = model.getWeights();
      await expectRefused(() => model.fit(X, Y), /compile/);
      await expectRefused(() => model.evaluate(X, Y), /compile/);
      expect(model.predict(X).shape).toEqual([4, 1]); // predict needs no loss
      expect(model.getWeights()).toEqual(before);
    } finally {
      model.dispose();
    }
  });

  it('a disposed model refuses every use', async () => {
    const model = await compiled();
    model.dispose();
    model.dispose(); // harmless twice
    for (const use of [
      () => model.fit(X, Y), () => model.predict(X), () => model.evaluate(X, Y), () => model.getWeights(),
      () => model.compile({ loss: 'binaryCrossentropy' }), () => model.save(), () => model.backend, () => model.summary(),
    ]) {
      await expectRefused(use, /disposed/);
    }
  });

  it('fit while fitting, and dispose during fit', async () => {
    const model = await compiled();
    const first = model.fit(X, Y, { epochs: 3, callbacks: { onEpochEnd: () => new Promise((r) => setTimeout(r, 5)) } });
    await expectRefused(() => model.fit(X, Y), /already training/);
    await first;
    await expectRefused(
      () => model.fit(X, Y, { epochs: 5, callbacks: { onEpochEnd: () => model.dispose() } }),
      /disposed during training/,
    );
  });
});
