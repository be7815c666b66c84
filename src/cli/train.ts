/** `simdnet train`: load and split the data, train with a progress display, test, save. */
import {
  activation, batchNormalization, DEFAULT_LEARNING_RATES, dense, dropout, sequential, SimdnetError,
  type Callbacks, type LayerConfig, type LossName, type OptimizerConfig, type Sequential,
} from '../index.js';
import { enableRelaxedSimd } from '../node.js';
import { DataError } from './csv.js';
import { SHIFT_COPIES, withShiftedCopies } from './data/augment.js';
import { isBuiltin, loadBuiltin } from './data/builtin-sets.js';
import { checkCsvPath, isNumberLabel, loadCsvForTraining } from './data/csv-sets.js';
import type { Dataset } from './data/dataset.js';
import { fingerprint } from './data/fingerprint.js';
import { partitionRows, takeRows, type Split } from './data/split.js';
import { fitStandardization, fitTargetScale, standardize, type Standardization, type TargetScale } from './data/standardize.js';
import { checkSavePath, MODEL_FORMAT, MODEL_FORMAT_VERSION, writeModelFile, type CliMetadata } from './model-file.js';
import { DEFAULTS, UsageError, type Augmentation, type Settings } from './options.js';
import { createProgress, formatInt, formatPercent, formatLoss, plural, type TrainingProgress } from './progress.js';
import { decodeTargets, predictAll, scoreClassification, scoreRegression } from './scoring.js';

/** The accuracy the default MNIST run promises; the final line says whether it was reached. */
export const MNIST_TARGET = 0.975;

type Out = (line: string) => void;

/** The data as loaded, with what was decided from it: the loss and the augmentation. */
interface Loaded {
  source: string;
  builtin: boolean;
  seed: number;
  all: Dataset;
  loss: LossName;
  augment: Augmentation;
}

/** The split parts, each prepared with statistics of the training rows only. */
interface Parts {
  split: Split;
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** What fit() sees: the training rows, followed by their shifted copies when augmenting. */
  fit: Dataset;
  standardization: Standardization | null;
  targetScale: TargetScale | null;
}

/** The network to build: its widths, output layer and learning rate. */
interface Architecture {
  inputs: number;
  output: OutputLayer;
  learningRate: number;
}

interface OutputLayer {
  units: number;
  activation: 'sigmoid' | 'softmax' | 'linear';
}

export async function train(settings: Settings, out: Out): Promise<void> {
  if (settings.save !== undefined) checkSavePath(settings.save);
  const loaded = await loadTrainingData(settings);
  const parts = splitAndPrepare(loaded, settings);
  const architecture = chooseArchitecture(settings, loaded);
  printPlan(out, settings, loaded, parts, architecture);
  const model = await buildModel(settings, architecture, loaded.seed);
  try {
    model.compile({
      loss: loaded.loss,
      optimizer: optimizerConfig(settings, architecture.learningRate, Math.ceil(parts.fit.rows / settings.batchSize)),
      metrics: loaded.all.task === 'classification' ? ['accuracy'] : [],
    });
    out(`         ${formatInt(model.countParams())} parameters, ${threadsLabel(model)}`);
    const fitSeconds = await fitWithProgress(model, settings, parts, loaded);
    reportTest(out, model, loaded, parts, architecture, settings.testSplit);
    if (settings.save !== undefined) {
      await writeModelFile(settings.save, model, metadataOf(settings, loaded, parts, architecture));
      out(`saved    ${settings.save}`);
    }
    // performance.now() counts from the process's start: the wall time includes loading the data.
    const wall = performance.now() / 1000;
    out(`wall time ${wall.toFixed(1)} s (training ${fitSeconds.toFixed(1)} s)`);
  } finally {
    model.dispose();
  }
}

/** Reads --data and settles the loss and the augmentation, refusing options that do not fit it. */
async function loadTrainingData(settings: Settings): Promise<Loaded> {
  const seed = settings.seed ?? DEFAULTS.seed;
  const source = settings.data ?? DEFAULTS.data;
  const builtin = isBuiltin(source);
  if (!builtin) checkCsvPath(source);
  if (builtin && settings.label !== undefined) {
    throw new UsageError(`--label names a column of a CSV file; ${source} has no columns to choose from`);
  }
  const regressionWanted = settings.loss === 'meanSquaredError' && !builtin;
  const all = builtin ? await loadBuiltin(source, seed) : loadCsvForTraining(source, settings.label, regressionWanted);
  const loss = chooseLoss(settings.loss, all);

  const augment = settings.augment ?? (all.image !== undefined ? 'shift' : 'none');
  if (augment === 'shift' && all.image === undefined) {
    throw new UsageError(`--augment shift moves image pixels; it needs image data (--data mnist), not ${source}`);
  }
  return { source, builtin, seed, all, loss, augment };
}

/** Split first, then fit the preprocessing on the training rows only: the test rows stay unseen. */
function splitAndPrepare({ all, source, seed, augment }: Loaded, settings: Settings): Parts {
  const split = partitionRows(all.rows, seed, settings.testSplit, settings.validationSplit);
  const train = takeRows(all, split.train);
  const validation = takeRows(all, split.validation);
  const test = takeRows(all, split.test);
  if (train.rows === 0) throw new DataError(`${source}: no rows left to train on after the split`);
  // Pixels are already in [0, 1]; standardising them would blow up the near-constant border pixels.
  const standardization = all.image === undefined ? fitStandardization(train) : null;
  const targetScale = all.task === 'regression' ? fitTargetScale(train) : null;
  for (const part of [train, validation, test]) {
    if (standardization !== null) standardize(part, standardization);
    if (targetScale !== null) part.y = part.y.map((v) => (v - targetScale.mean) / targetScale.std);
  }
  const fit = augment === 'shift' ? withShiftedCopies(train) : train;
  return { split, train, validation, test, fit, standardization, targetScale };
}

/** The optimizer with the learning rate, its schedule over the run's steps, and clipping. */
function optimizerConfig(settings: Settings, learningRate: number, stepsPerEpoch: number): OptimizerConfig {
  const schedule = settings.lrSchedule === 'cosine'
    ? { type: 'cosineDecay' as const, initialLearningRate: learningRate, decaySteps: settings.epochs * stepsPerEpoch }
    : learningRate;
  return { type: settings.optimizer, learningRate: schedule, ...(settings.clipNorm === undefined ? {} : { clipNorm: settings.clipNorm }) };
}

function chooseArchitecture(settings: Settings, { all, loss }: Loaded): Architecture {
  return {
    inputs: all.features.length,
    output: outputLayer(loss, all),
    // Cosine decay averages half its starting rate over the run: it starts at twice the constant default.
    learningRate: settings.lr ?? (settings.lrSchedule === 'cosine' ? 2 : 1) * DEFAULT_LEARNING_RATES[settings.optimizer],
  };
}

/** The two lines that say what will be trained on, and how. */
function printPlan(out: Out, settings: Settings, loaded: Loaded, parts: Parts, architecture: Architecture): void {
  const { all, augment, seed, loss } = loaded;
  const { inputs, output, learningRate } = architecture;
  const widths = [inputs, ...settings.hidden, output.units];
  out(
    `data     ${describeSource(all)}: ${plural(all.rows, 'row')} → ${formatInt(parts.train.rows)} train` +
      (augment === 'shift' ? ` (+ ${SHIFT_COPIES} one-pixel shifts of each = ${formatInt(parts.fit.rows)} samples/epoch)` : '') +
      `, ${formatInt(parts.validation.rows)} validation, ${formatInt(parts.test.rows)} test (seed ${seed})`,
  );
  out(
    `model    ${widths.join('-')}, ${settings.hidden.length > 0 ? `${settings.activation}/` : ''}${output.activation}, ` +
      `${settings.batchNorm && settings.hidden.length > 0 ? 'batch norm, ' : ''}` +
      `${all.task === 'regression' ? `mean squared error of "${all.label}", in its units` : lossLabel(loss)}, ` +
      `${optimizerLabel(settings, learningRate)}, batch ${settings.batchSize}, ` +
      `${plural(settings.epochs, 'epoch')}, backend ${settings.backend}${settings.relaxedSimd ? ' (relaxed SIMD)' : ''}`,
  );
}

/** "2 threads", or "1 thread: why" when more were asked for. */
function threadsLabel(model: Sequential): string {
  return `${plural(model.threads, 'thread')}${model.threadsReason === undefined ? '' : `: ${model.threadsReason}`}`;
}

/** "adam lr 0.002 (cosine decay), clip norm 1, dropout 0.2": how each step is taken. */
function optimizerLabel(settings: Settings, learningRate: number): string {
  return `${settings.optimizer} lr ${learningRate}${settings.lrSchedule === 'cosine' ? ' (cosine decay)' : ''}` +
    `${settings.clipNorm === undefined ? '' : `, clip norm ${settings.clipNorm}`}${settings.dropout > 0 ? `, dropout ${settings.dropout}` : ''}`;
}

async function buildModel(settings: Settings, { inputs, output }: Architecture, seed: number): Promise<Sequential> {
  const layers: LayerConfig[] = [
    ...settings.hidden.flatMap((units, i) => [
      ...(settings.batchNorm
        ? [dense({ units, ...(i === 0 ? { inputShape: [inputs] as [number] } : {}) }), batchNormalization(), activation({ activation: settings.activation })]
        : [dense({ units, activation: settings.activation, ...(i === 0 ? { inputShape: [inputs] as [number] } : {}) })]),
      ...(settings.dropout > 0 ? [dropout({ rate: settings.dropout })] : []),
    ]),
    dense({
      units: output.units,
      activation: output.activation,
      ...(settings.hidden.length === 0 ? { inputShape: [inputs] as [number] } : {}),
    }),
  ];
  if (settings.relaxedSimd && !enableRelaxedSimd()) {
    throw new SimdnetError('relaxedSimd', '--relaxed-simd: this JavaScript engine does not accept WebAssembly relaxed SIMD; leave the option off');
  }
  return sequential({ layers, backend: settings.backend, relaxedSimd: settings.relaxedSimd, threads: settings.threads, seed });
}

/** fit() with the progress display, which Ctrl-C also takes down; resolves to the seconds it took. */
async function fitWithProgress(
  model: Sequential, settings: Settings, { fit, validation, targetScale }: Parts, { all, seed }: Loaded,
): Promise<number> {
  const progress = createProgress({
    epochs: settings.epochs,
    samplesPerEpoch: fit.rows,
    accuracy: all.task === 'classification',
    threads: model.threads,
  });
  // Ctrl-C aborts fit (which yields to the event loop, so the handler runs within a batch or two);
  // the bar is taken down, so that the cursor is not left hidden, and nothing is saved.
  const interrupted = new AbortController();
  const onInterrupt = (): void => interrupted.abort();
  process.once('SIGINT', onInterrupt);
  const fitStarted = performance.now();
  try {
    progress.epochStart(0);
    await model.fit(matrix(fit), fit.y, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      shuffle: true,
      seed,
      ...(validation.rows > 0 ? { validationData: [matrix(validation), validation.y] as const } : {}),
      // The network fits a standardised target; its squared errors times std² are in the target's units.
      callbacks: progressCallbacks(progress, settings, fit.rows, targetScale === null ? 1 : targetScale.std ** 2),
      signal: interrupted.signal,
    });
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
    progress.stop();
    process.stdout.write('\ninterrupted; nothing saved\n');
    process.exit(130); // 128 + SIGINT, as a shell reports a process Ctrl-C ended
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onInterrupt);
  }
  return (performance.now() - fitStarted) / 1000;
}

/** fit() callbacks that drive the progress display, with losses multiplied by lossScale. */
function progressCallbacks(progress: TrainingProgress, settings: Settings, rows: number, lossScale: number): Callbacks {
  const running = { rows: 0, loss: 0, correct: 0 };
  return {
    onBatchEnd(batch: number, logs: { loss: number; acc?: number }) {
      // The model reports each batch on its own; the bar shows the epoch's running mean.
      const done = Math.min((batch + 1) * settings.batchSize, rows);
      const m = done - running.rows;
      running.rows = done;
      running.loss += logs.loss * lossScale * m;
      running.correct += (logs.acc ?? 0) * m;
      progress.batchEnd(done, {
        loss: running.loss / done,
        ...(logs.acc === undefined ? {} : { acc: running.correct / done }),
      });
    },
    onEpochEnd(epoch: number, logs: { loss: number; acc?: number; val_loss?: number; val_acc?: number }) {
      progress.epochEnd(epoch, {
        ...logs,
        loss: logs.loss * lossScale,
        ...(logs.val_loss === undefined ? {} : { val_loss: logs.val_loss * lossScale }),
      });
      Object.assign(running, { rows: 0, loss: 0, correct: 0 });
      if (epoch + 1 < settings.epochs) progress.epochStart(epoch + 1);
    },
  };
}

/** Scores on the held-out test rows, in the target's own units for regression. */
function reportTest(
  out: Out, model: Sequential, { all, loss, source }: Loaded, { test, split, targetScale }: Parts, { output }: Architecture,
  testSplit: number,
): void {
  if (test.rows === 0) {
    // No test rows: asked for, or a split of a few rows that rounds to none.
    const why = testSplit === 0 ? '--test-split 0' : `a test split of ${testSplit} of ${plural(all.rows, 'row')} rounds to none`;
    out(`test     no test rows (${why})`);
    return;
  }
  const outputs = predictAll(model, test);
  if (all.task === 'classification') {
    const s = scoreClassification(outputs, output.units, test.y, loss);
    const target =
      source === 'mnist'
        ? ` (target ≥ ${MNIST_TARGET * 100}%: ${s.accuracy >= MNIST_TARGET ? 'reached' : 'NOT reached'})`
        : '';
    out(`test     loss ${formatLoss(s.loss)}  accuracy ${formatPercent(s.accuracy)} (${formatInt(s.correct)}/${formatInt(s.rows)})`);
    out(`test accuracy ${formatPercent(s.accuracy)}${target}`);
  } else {
    const original = takeRows(all, split.test).y;
    const s = scoreRegression(decodeTargets(outputs, targetScale!), original);
    out(`test     mse ${formatLoss(s.mse)}  rmse ${formatLoss(s.rmse)}  r² ${s.r2.toFixed(4)} (${plural(s.rows, 'row')})`);
  }
}

/** What a saved model carries for `evaluate` and `predict` to prepare data the same way. */
function metadataOf(settings: Settings, loaded: Loaded, parts: Parts, { learningRate }: Architecture): CliMetadata {
  const { all, loss, source, builtin, seed, augment } = loaded;
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    task: all.task,
    features: all.features,
    label: all.label,
    classes: all.classes,
    loss,
    standardization: parts.standardization,
    target: parts.targetScale,
    data: {
      source, builtin, seed, testSplit: settings.testSplit, validationSplit: settings.validationSplit,
      ...(builtin ? {} : { fingerprint: fingerprint(all) }),
    },
    training: {
      hidden: settings.hidden,
      activation: settings.activation,
      optimizer: settings.optimizer,
      learningRate,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      augment,
    },
  };
}

/** Cross-entropy unless asked otherwise: binary for two classes, categorical for more. */
function chooseLoss(asked: LossName | undefined, data: Dataset): LossName {
  if (data.task === 'regression') return 'meanSquaredError';
  const k = data.classes.length;
  if (asked === undefined) {
    refuseNumericTarget(data);
    return k === 2 ? 'binaryCrossentropy' : 'categoricalCrossentropy';
  }
  if (asked === 'binaryCrossentropy' && k !== 2) {
    throw new UsageError(`--loss bce is for two classes; ${describeSource(data)} has ${k} (use --loss cce)`);
  }
  return asked;
}

/**
 * Numbers as labels, most of them on one row only: a numeric target, which one class per value
 * cannot learn (every test row would be a class never seen). Refused unless a loss is given.
 */
function refuseNumericTarget(data: Dataset): void {
  const k = data.classes.length;
  if (k < 3 || !data.classes.every(isNumberLabel)) return;
  const rows = new Array<number>(k).fill(0);
  for (const y of data.y) rows[y]++;
  const once = rows.filter((n) => n === 1).length;
  if (once * 2 <= k) return;
  throw new UsageError(
    `${data.source}: label column "${data.label}" holds ${formatInt(k)} different numbers in ${plural(data.rows, 'row')}, ` +
      `${formatInt(once)} of them on one row only: a numeric target rather than classes. Use --loss mse to predict ` +
      'the number (regression), or --loss cce to train one class per value',
  );
}

/** The output layer each loss pairs with: one sigmoid for two classes, softmax for more. */
function outputLayer(loss: LossName, data: Dataset): OutputLayer {
  if (data.task === 'regression') return { units: 1, activation: 'linear' };
  const k = data.classes.length;
  if (loss === 'binaryCrossentropy') return { units: 1, activation: 'sigmoid' };
  if (loss === 'categoricalCrossentropy') return { units: k, activation: 'softmax' };
  // Squared error on classes: independent 0/1 outputs (one for two classes).
  return { units: k === 2 ? 1 : k, activation: 'sigmoid' };
}

function lossLabel(loss: LossName): string {
  return {
    categoricalCrossentropy: 'categorical cross-entropy', binaryCrossentropy: 'binary cross-entropy', meanSquaredError: 'mean squared error',
    meanAbsoluteError: 'mean absolute error', huber: 'Huber loss',
  }[loss];
}

export function describeSource(data: Pick<Dataset, 'source' | 'task' | 'classes' | 'label' | 'features'>): string {
  if (data.source === 'mnist') return 'mnist digits';
  const what = data.task === 'regression' ? `target "${data.label}"` : `${data.classes.length} classes`;
  return `${data.source} (${plural(data.features.length, 'feature')}, ${what})`;
}

export function matrix(data: Dataset): { data: Float32Array; shape: [number, number] } {
  return { data: data.x, shape: [data.rows, data.features.length] };
}
