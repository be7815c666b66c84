/**
 * fit's epoch loop: the data set is copied into backend memory once, each epoch shuffles an index
 * array there and gathers batches with gatherRows (epoch-batches.ts), and the steps of network.ts
 * run on buffers laid out once for the largest batch. After each epoch: validation, callbacks,
 * checkpoints, early stopping.
 */
import type { Ptr } from '../backend/backend.js';
import { ThreadsStoppedError } from '../backend/index.js';
import type { Rows } from '../data.js';
import { SimdnetError } from '../errors.js';
import type { LossName } from '../losses.js';
import { applyUpdate, evaluateRows, Totals, type Network } from '../network.js';
import type { Optimizer } from '../optimizers.js';
import { allocateBatch, BatchBufferSet, rowAt, upload, uploadRows, type BatchBuffers } from '../plan.js';
import type { Random } from '../random.js';
import { EarlyStopping } from './early-stopping.js';
import { EpochBatches } from './epoch-batches.js';
import { CHECK_INTERVAL, WeightGuard } from './guard.js';
import { BatchLogs, record, type History, type Logs } from './logs.js';
import type { ResolvedFitOptions } from './options.js';

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
 * (the backend memory they point to is still laid out per fit), so that the steps' optimized code
 * outlives a fit (docs/ARCHITECTURE.md, 'Number boxing').
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
  const { net, trainRows, options, rng } = job;
  const { backend } = net;
  const { epochs, initialEpoch, checkpoints } = options;
  // A training set that fits in one batch gives the same gradient in any order: no shuffles and no
  // gathers, the batch is read in place (also when resuming, so the replay below matches).
  const shuffle = options.shuffle && trainRows > options.batchSize;
  const history: History = { epoch: [], history: { loss: [] } };
  const top = backend.mark();
  try {
    const data = uploadData(job);
    const order = allocateOrder(net, trainRows);
    const objects = job.objects ?? new FitObjects();
    const bufs = allocateBatch(net.backend, net.specs, Math.min(options.batchSize, trainRows), { gather: shuffle, loss: true, backward: true }, objects.bufs);
    // Validation reuses these buffers in batches of bufs.rows, so it never needs its own.
    const stopping = options.earlyStopping ? new EarlyStopping(options.earlyStopping, net) : undefined;
    const loop = prepareLoop(job, objects, data, shuffle ? order : 0, bufs);
    // Resuming: the shuffles of the skipped epochs are replayed (no training), so that the order
    // of rows in each later epoch is the one the uninterrupted run had.
    if (shuffle) for (let epoch = 0; epoch < initialEpoch; epoch++) rng.shuffleInt32(backend.i32, order >> 2, trainRows);
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      const started = performance.now();
      if (shuffle) rng.shuffleInt32(backend.i32, order >> 2, trainRows);
      await trainEpoch(job, loop, epoch);
      const logs = epochLogs(job, loop, data, bufs, (performance.now() - started) / 1000);
      record(history, epoch, logs);
      if (options.callbacks.onEpochEnd) await options.callbacks.onEpochEnd(epoch, logs);
      else await Promise.resolve(); // let other work run between epochs
      if (job.isDisposed()) throw disposedDuringFit();
      for (const checkpoint of checkpoints) {
        await checkpoint.afterEpoch(epoch, logs, (includeOptimizer) => job.save(includeOptimizer));
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

/** The data set in backend memory: validationSplit rows are read in place after the training rows. */
interface FitData {
  x: Ptr;
  y: Ptr;
  xVal: Ptr;
  yVal: Ptr;
  valRows: number;
}

function uploadData(job: FitJob): FitData {
  const { backend, specs } = job.net;
  const x = uploadRows(backend, job.x, 'fit()', 'x');
  const y = upload(backend, job.y.data);
  if (job.validation) {
    const xVal = uploadRows(backend, job.validation.x, 'fit()', 'validationData[0]');
    return { x, y, xVal, yVal: upload(backend, job.validation.y.data), valRows: job.validation.x.rows };
  }
  return {
    x, y,
    xVal: rowAt(x, job.trainRows, specs[0].inputUnits),
    yVal: rowAt(y, job.trainRows, specs[specs.length - 1].units),
    valRows: job.x.rows - job.trainRows,
  };
}

/** The row order shuffled each epoch (i32, in backend memory), initially 0 … rows − 1. */
function allocateOrder(net: Network, rows: number): Ptr {
  const order = net.backend.alloc(rows);
  const first = order >> 2;
  const i32 = net.backend.i32;
  for (let i = 0; i < rows; i++) i32[first + i] = i;
  return order;
}

/** What the batch loop works with, taken from the model's reused FitObjects (see there why). */
interface Loop {
  batches: EpochBatches;
  guard: WeightGuard;
  totals: Totals;
  validationTotals: Totals;
  batchLogs: BatchLogs;
}

function prepareLoop(job: FitJob, objects: FitObjects, data: FitData, order: Ptr, bufs: BatchBuffers): Loop {
  const { net, loss, optimizer, accuracy, trainRows } = job;
  if (objects.guard) objects.guard.reset(net, optimizer);
  else objects.guard = new WeightGuard(net, optimizer);
  const { totals, validationTotals } = objects;
  totals.loss = 0;
  totals.correct = 0;
  totals.lastLoss = 0;
  if (objects.batches) objects.batches.reset(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  else objects.batches = new EpochBatches(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  const batchLogs = accuracy ? objects.batchLogsWithAcc : objects.batchLogs;
  batchLogs.loss = 0;
  if (accuracy) batchLogs.acc = 0;
  return { batches: objects.batches, guard: objects.guard, totals, validationTotals, batchLogs };
}

/**
 * One epoch of steps, with the non-finite guard (guard.ts) woven in: it saves at the start of each
 * run of CHECK_INTERVAL steps (an epoch starts a run, so replays never cross a reshuffle) and after
 * a callback replaced the weights; it checks the loss at every step, and the update at the end of
 * each run and before each batch callback, so that callbacks never see non-finite weights. On a
 * failure the guard replays batches (adding to totals, which are dropped with the error).
 */
async function trainEpoch(job: FitJob, loop: Loop, epoch: number): Promise<void> {
  const { net, optimizer, accuracy } = job;
  const callbacks = job.options.callbacks;
  const { batches, guard, totals, batchLogs } = loop;
  const replay = (b: number): number => batches.replay(b);
  let weightsSet = job.weightsSet();
  totals.loss = 0;
  totals.correct = 0;
  for (let batch = 0; batch < batches.count; batch++) {
    if (batch % CHECK_INTERVAL === 0 || job.weightsSet() !== weightsSet) {
      guard.save(batch);
      weightsSet = job.weightsSet();
    }
    if (!batches.train(batch, accuracy, batchLogs)) throw guard.locate('fit()', epoch, batch, replay);
    try {
      applyUpdate(net, optimizer);
    } catch (err) {
      // A worker thread stopped half-way through the update: back to the weights before this step.
      if (err instanceof ThreadsStoppedError) guard.rewind(batch, replay);
      throw err;
    }
    const checkNow = callbacks.onBatchEnd !== undefined || (batch + 1) % CHECK_INTERVAL === 0 || batch === batches.count - 1;
    if (checkNow && !guard.finite()) throw guard.locate('fit()', epoch, batch, replay);
    if (callbacks.onBatchEnd) {
      const pending = callbacks.onBatchEnd(batch, batchLogs);
      if (pending) await pending;
      if (job.isDisposed()) throw disposedDuringFit();
    }
  }
}

/** The epoch's mean training loss (and accuracy), the validation figures, and the speed. */
function epochLogs(job: FitJob, loop: Loop, data: FitData, bufs: BatchBuffers, seconds: number): Logs {
  const { net, loss, accuracy, trainRows } = job;
  const { totals, validationTotals } = loop;
  const logs: Logs = { loss: totals.loss / trainRows };
  if (accuracy) logs.acc = totals.correct / trainRows;
  if (data.valRows > 0) {
    validationTotals.loss = 0;
    validationTotals.correct = 0;
    evaluateRows(net, loss, data.xVal, data.yVal, data.valRows, bufs, accuracy, validationTotals);
    logs.val_loss = validationTotals.loss / data.valRows;
    if (accuracy) logs.val_acc = validationTotals.correct / data.valRows;
  }
  logs.samplesPerSec = seconds > 0 ? trainRows / seconds : Infinity;
  return logs;
}

function disposedDuringFit(): SimdnetError {
  return new SimdnetError('model', 'fit(): the model was disposed during training');
}
