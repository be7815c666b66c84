/**
 * fit's options, its history, and the epoch loop: the data set is copied into backend memory once,
 * each epoch shuffles an index array there and gathers batches with gatherRows, and the steps of
 * train.ts run on buffers laid out once for the largest batch. After each epoch: callbacks,
 * checkpoints, early stopping.
 */
import type { Ptr } from './backend/backend.js';
import { parseCheckpoints, type Checkpoint, type CheckpointOptions } from './checkpoint.js';
import { checkKeys, invalid, isPlainObject, isPositiveInteger, SimdnetError } from './errors.js';
import type { LabelsLike, MatrixLike, Rows } from './data.js';
import { EarlyStopping, parseEarlyStopping, type EarlyStoppingConfig, type EarlyStoppingOptions } from './early-stopping.js';
import { CHECK_INTERVAL, WeightGuard } from './guard.js';
import type { LossName } from './losses.js';
import type { Optimizer } from './optimizers.js';
import { allocateBatch, BatchBufferSet, upload, uploadRows, type BatchBuffers } from './plan.js';
import { Random, checkSeed } from './random.js';
import { applyUpdate, computeBatch, evaluateRows, Totals, type Network } from './train.js';

/** Passed to callbacks. Batch logs hold the batch's own loss (and accuracy); epoch logs the epoch's mean. */
export interface Logs {
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
  samplesPerSec?: number;
}

export interface Callbacks {
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** `logs` is one object reused for every batch: copy what you keep. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

export interface FitOptions {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Reshuffle the training rows every epoch; default true. */
  shuffle?: boolean;
  /** Fraction in [0, 1) of rows, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  /** Held-out data (takes precedence over validationSplit). */
  validationData?: readonly [MatrixLike, LabelsLike];
  /** Seeds the shuffles; default: the model's own stream, so successive fits differ reproducibly. */
  seed?: number;
  callbacks?: Callbacks;
  /**
   * The epoch to start from, to resume a run from a checkpoint: epochs initialEpoch … epochs − 1
   * run, and with the same fit seed the shuffles are those the uninterrupted run would have made.
   * Default 0.
   */
  initialEpoch?: number;
  /** Stop when a monitored metric stops improving (Keras' EarlyStopping). */
  earlyStopping?: EarlyStoppingOptions;
  /** Save the model during training (Keras' ModelCheckpoint); several rules may be given. */
  checkpoint?: CheckpointOptions | readonly CheckpointOptions[];
}

export interface History {
  /** Epoch numbers, from 0 in each fit call. */
  epoch: number[];
  history: { loss: number[]; acc?: number[]; val_loss?: number[]; val_acc?: number[] };
}

export interface ResolvedFitOptions {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  validationSplit: number;
  validationData?: readonly [unknown, unknown];
  seed?: number;
  callbacks: Callbacks;
  initialEpoch: number;
  earlyStopping?: EarlyStoppingConfig;
  checkpoints: Checkpoint[];
}

const FIT_KEYS = [
  'epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'seed', 'callbacks',
  'initialEpoch', 'earlyStopping', 'checkpoint',
];

/** `accuracy`: whether the model was compiled with it, so monitors of acc can be checked. */
export function parseFitOptions(where: string, options: unknown, accuracy: boolean): ResolvedFitOptions {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalid(where, 'options', 'an object such as { epochs: 10, batchSize: 32 }', options);
  checkKeys(where, 'options', options, FIT_KEYS);
  const { epochs = 1, batchSize = 32, shuffle = true, validationSplit = 0, validationData, seed, callbacks = {}, initialEpoch = 0 } = options;
  if (!isPositiveInteger(epochs)) throw invalid(where, 'epochs', 'a positive integer', epochs);
  if (!(Number.isSafeInteger(initialEpoch) && (initialEpoch as number) >= 0 && (initialEpoch as number) < epochs)) {
    throw invalid(where, 'initialEpoch', `an integer in [0, epochs − 1 = ${epochs - 1}]`, initialEpoch);
  }
  if (!isPositiveInteger(batchSize)) throw invalid(where, 'batchSize', 'a positive integer', batchSize);
  if (typeof shuffle !== 'boolean') throw invalid(where, 'shuffle', 'true or false', shuffle);
  if (typeof validationSplit !== 'number' || !(validationSplit >= 0 && validationSplit < 1)) {
    throw invalid(where, 'validationSplit', 'a number in [0, 1)', validationSplit);
  }
  if (validationData !== undefined && !(Array.isArray(validationData) && validationData.length === 2)) {
    throw invalid(where, 'validationData', 'a pair [x, y]', validationData);
  }
  if (seed !== undefined) checkSeed(where, 'seed', seed);
  if (!isPlainObject(callbacks)) throw invalid(where, 'callbacks', 'an object with onEpochEnd / onBatchEnd functions', callbacks);
  checkKeys(where, 'callbacks', callbacks, ['onEpochEnd', 'onBatchEnd']);
  for (const [name, fn] of Object.entries(callbacks)) {
    if (fn !== undefined && typeof fn !== 'function') throw invalid(where, `callbacks.${name}`, 'a function', fn);
  }
  const logged = { validation: validationData !== undefined || validationSplit > 0, accuracy };
  return {
    epochs, batchSize, shuffle, validationSplit,
    validationData: validationData as readonly [unknown, unknown] | undefined,
    seed: seed as number | undefined,
    callbacks: callbacks as Callbacks,
    initialEpoch: initialEpoch as number,
    earlyStopping: options.earlyStopping === undefined ? undefined : parseEarlyStopping(where, options.earlyStopping, logged),
    checkpoints: options.checkpoint === undefined ? [] : parseCheckpoints(where, options.checkpoint, logged),
  };
}

/** Training rows first, then (for validationSplit) the held-out rows at the end, as Keras does. */
export function splitRows(where: string, rows: number, validationSplit: number): number {
  const train = Math.floor(rows * (1 - validationSplit));
  if (train < 1 || (validationSplit > 0 && train === rows)) {
    throw new SimdnetError(
      'validationSplit',
      `${where}: validationSplit ${validationSplit} of ${rows} rows must leave at least one row for training ` +
        `and one for validation, got ${train} for training and ${rows - train} for validation`,
    );
  }
  return train;
}

export interface FitJob {
  net: Network;
  loss: LossName;
  optimizer: Optimizer;
  accuracy: boolean;
  x: Rows;
  y: Rows;
  /** Rows of x, y used for training; rows after them are the validation split. */
  trainRows: number;
  validation?: { x: Rows; y: Rows };
  options: ResolvedFitOptions;
  rng: Random;
  /** Checked after every awaited callback: a model disposed meanwhile stops the loop. */
  isDisposed(): boolean;
  /** How many times setWeights was called: a change tells fit a callback replaced the weights. */
  weightsSet(): number;
  /** model.save(), for checkpoints. */
  save(includeOptimizer: boolean): Uint8Array<ArrayBuffer>;
  /** The model's FitObjects, reused by each of its fits; default: new ones for this fit. */
  objects?: FitObjects;
}

/**
 * The JS objects a fit's steps work with, kept by the model and re-initialised by each of its fits
 * (the backend memory they point to is still laid out per fit). V8's optimized code for the steps
 * holds the maps of these objects weakly: when a fit's own objects died with it, a full GC dropped
 * that code and the next fit ran its first thousands of steps unoptimized, boxing every double.
 */
export class FitObjects {
  readonly bufs = new BatchBufferSet();
  readonly totals = new Totals();
  readonly validationTotals = new Totals();
  /** Batch logs without acc, and with it: one shape each, so no fit deletes a field. */
  readonly batchLogs = new BatchLogs();
  readonly batchLogsWithAcc = new BatchLogs();
  guard: WeightGuard | undefined = undefined;
  batches: EpochBatches | undefined = undefined;

  constructor() {
    this.batchLogsWithAcc.acc = 0;
  }
}

export async function runFit(job: FitJob): Promise<History> {
  const { net, loss, optimizer, accuracy, x, y, trainRows, options, rng } = job;
  const { backend, specs } = net;
  const inWidth = specs[0].inputUnits;
  const outWidth = specs[specs.length - 1].units;
  const { epochs, batchSize, callbacks, initialEpoch, checkpoints } = options;
  // A training set that fits in one batch gives the same gradient in any order: no shuffles and no
  // gathers, the batch is read in place (also when resuming, so the replay below matches).
  const shuffle = options.shuffle && trainRows > batchSize;
  const history: History = { epoch: [], history: { loss: [] } };
  const top = backend.mark();
  try {
    // The data set, once: validationSplit rows are read in place after the training rows.
    const xData = uploadRows(backend, x, 'fit()', 'x');
    const yData = upload(backend, y.data);
    let xVal: Ptr = xData + 4 * trainRows * inWidth;
    let yVal: Ptr = yData + 4 * trainRows * outWidth;
    let valRows = x.rows - trainRows;
    if (job.validation) {
      xVal = uploadRows(backend, job.validation.x, 'fit()', 'validationData[0]');
      yVal = upload(backend, job.validation.y.data);
      valRows = job.validation.x.rows;
    }
    const index = backend.alloc(trainRows);
    const first = index >> 2;
    const order = backend.i32;
    for (let i = 0; i < trainRows; i++) order[first + i] = i;
    const objects = job.objects ?? new FitObjects();
    const bufs = allocateBatch(backend, specs, Math.min(batchSize, trainRows), { gather: shuffle, loss: true, backward: true }, objects.bufs);
    // Validation reuses these buffers in batches of bufs.rows, so it never needs its own.
    const stopping = options.earlyStopping ? new EarlyStopping(options.earlyStopping, net) : undefined;
    if (objects.guard) objects.guard.reset(net, optimizer);
    else objects.guard = new WeightGuard(net, optimizer);
    const guard = objects.guard;
    let weightsSet = job.weightsSet();
    // Resuming: the shuffles of the skipped epochs are replayed (no training), so that the order
    // of rows in each later epoch is the one the uninterrupted run had.
    if (shuffle) for (let epoch = 0; epoch < initialEpoch; epoch++) rng.shuffleInt32(backend.i32, first, trainRows);

    const { totals, validationTotals } = objects;
    totals.loss = 0;
    totals.correct = 0;
    totals.lastLoss = 0;
    if (objects.batches) objects.batches.reset(net, loss, xData, yData, trainRows, shuffle ? index : 0, bufs, totals);
    else objects.batches = new EpochBatches(net, loss, xData, yData, trainRows, shuffle ? index : 0, bufs, totals);
    const batches = objects.batches;
    const batchLogs = accuracy ? objects.batchLogsWithAcc : objects.batchLogs;
    batchLogs.loss = 0;
    if (accuracy) batchLogs.acc = 0;
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      const started = performance.now();
      if (shuffle) rng.shuffleInt32(backend.i32, first, trainRows);
      totals.loss = 0;
      totals.correct = 0;
      for (let batch = 0; batch < batches.count; batch++) {
        // The non-finite guard (guard.ts) saves at the start of each run of CHECK_INTERVAL steps (an
        // epoch starts a run, so replays never cross a reshuffle) and after a callback replaced the
        // weights; it checks the loss at every step, and the update at the end of each run and
        // before each batch callback, so that callbacks never see non-finite weights.
        if (batch % CHECK_INTERVAL === 0 || job.weightsSet() !== weightsSet) {
          guard.save(batch);
          weightsSet = job.weightsSet();
        }
        // On a failure the guard replays batches (adding to totals, which are dropped with the error).
        if (!batches.train(batch, accuracy, batchLogs)) throw guard.locate('fit()', epoch, batch, (b) => batches.replay(b));
        applyUpdate(net, optimizer);
        const checkNow = callbacks.onBatchEnd !== undefined || (batch + 1) % CHECK_INTERVAL === 0 || batch === batches.count - 1;
        if (checkNow && !guard.finite()) throw guard.locate('fit()', epoch, batch, (b) => batches.replay(b));
        if (callbacks.onBatchEnd) {
          const pending = callbacks.onBatchEnd(batch, batchLogs);
          if (pending) await pending;
          if (job.isDisposed()) throw disposedDuringFit();
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const logs: Logs = { loss: totals.loss / trainRows };
      if (accuracy) logs.acc = totals.correct / trainRows;
      if (valRows > 0) {
        validationTotals.loss = 0;
        validationTotals.correct = 0;
        evaluateRows(net, loss, xVal, yVal, valRows, bufs, accuracy, validationTotals);
        logs.val_loss = validationTotals.loss / valRows;
        if (accuracy) logs.val_acc = validationTotals.correct / valRows;
      }
      logs.samplesPerSec = seconds > 0 ? trainRows / seconds : Infinity;
      record(history, epoch, logs);
      if (callbacks.onEpochEnd) await callbacks.onEpochEnd(epoch, logs);
      else await Promise.resolve(); // let other work run between epochs
      if (job.isDisposed()) throw disposedDuringFit();
      for (const checkpoint of checkpoints) {
        await checkpoint.afterEpoch(epoch, logs, job.save);
        if (job.isDisposed()) throw disposedDuringFit();
      }
      if (stopping?.shouldStop(logs)) break;
    }
    stopping?.restoreBest();
    return history;
  } finally {
    if (!job.isDisposed()) backend.release(top);
  }
}

/** The logs passed to onBatchEnd: a class for the reason Totals is one (train.ts), as steps write them. */
class BatchLogs implements Logs {
  loss = 0;
  declare acc?: number;
}

/**
 * An epoch's training batches in backend memory: batch b is rows b·bufs.rows onwards, read in place,
 * or gathered into bufs through the shuffled row order when shuffling.
 */
class EpochBatches {
  count = 0;
  #net!: Network;
  #loss!: LossName;
  #x: Ptr = 0;
  #y: Ptr = 0;
  #rows = 0;
  /** The shuffled row order (i32), or 0 to read rows in place. */
  #order: Ptr = 0;
  #bufs!: BatchBuffers;
  #totals!: Totals;

  constructor(net: Network, loss: LossName, x: Ptr, y: Ptr, rows: number, order: Ptr, bufs: BatchBuffers, totals: Totals) {
    this.reset(net, loss, x, y, rows, order, bufs, totals);
  }

  /** Points the object at another fit's data and buffers (a model reuses one for all its fits). */
  reset(net: Network, loss: LossName, x: Ptr, y: Ptr, rows: number, order: Ptr, bufs: BatchBuffers, totals: Totals): void {
    this.#net = net;
    this.#loss = loss;
    this.#x = x;
    this.#y = y;
    this.#rows = rows;
    this.#order = order;
    this.#bufs = bufs;
    this.#totals = totals;
    this.count = Math.ceil(rows / bufs.rows);
  }

  /** Rows in batch b. */
  size(batch: number): number {
    return Math.min(this.#bufs.rows, this.#rows - batch * this.#bufs.rows);
  }

  /**
   * run(batch), with the batch's loss (and accuracy, when counted) written to `logs`; false when the
   * loss is not finite. fit's loop is an async function that V8 leaves unoptimized, where every
   * double computed or read is a new heap object: so a step's doubles stay in here.
   */
  train(batch: number, countCorrect: boolean, logs: Logs): boolean {
    const totals = this.#totals;
    const correctBefore = totals.correct;
    this.run(batch, countCorrect);
    const value = totals.lastLoss;
    logs.loss = value;
    if (countCorrect) logs.acc = (totals.correct - correctBefore) / this.size(batch);
    return value - value === 0;
  }

  /** run(batch) for the guard's replay after a failure: returns the batch's loss. */
  replay(batch: number): number {
    this.run(batch, false);
    return this.#totals.lastLoss;
  }

  /** Forward, loss and backward on batch b: fills the gradients, adds to the totals and sets totals.lastLoss. */
  run(batch: number, countCorrect: boolean): void {
    const net = this.#net, bufs = this.#bufs;
    const inWidth = net.specs[0].inputUnits;
    const outWidth = net.specs[net.specs.length - 1].units;
    const start = batch * bufs.rows;
    const m = this.size(batch);
    if (this.#order === 0) {
      computeBatch(net, this.#loss, this.#x + 4 * start * inWidth, this.#y + 4 * start * outWidth, m, bufs, countCorrect, this.#totals);
      return;
    }
    net.backend.gatherRows(this.#x, this.#order + 4 * start, m, inWidth, bufs.x);
    net.backend.gatherRows(this.#y, this.#order + 4 * start, m, outWidth, bufs.y);
    computeBatch(net, this.#loss, bufs.x, bufs.y, m, bufs, countCorrect, this.#totals);
  }
}

function record(history: History, epoch: number, logs: Logs): void {
  const h = history.history;
  history.epoch.push(epoch);
  h.loss.push(logs.loss);
  if (logs.acc !== undefined) (h.acc ??= []).push(logs.acc);
  if (logs.val_loss !== undefined) (h.val_loss ??= []).push(logs.val_loss);
  if (logs.val_acc !== undefined) (h.val_acc ??= []).push(logs.val_acc);
}

function disposedDuringFit(): SimdnetError {
  return new SimdnetError('model', 'fit(): the model was disposed during training');
}
