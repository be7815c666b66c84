/**
 * fit's epoch loop: the data set is copied into backend memory once, each epoch shuffles an index
 * array there and gathers batches with gatherRows (epoch-batches.ts), and the steps of network.ts
 * run on buffers laid out once for the largest batch. After each epoch: validation, callbacks,
 * checkpoints, early stopping.
 */
import type { Ptr } from '../backend/backend.js';
import type { Rows } from '../data.js';
import { SimdnetError } from '../errors.js';
import type { LossName } from '../losses.js';
import { METRIC_BITS, metricKeys } from '../metrics.js';
import { applyUpdate, evaluateRows, Totals, type Network } from '../network.js';
import type { Optimizer } from '../optimizers.js';
import { allocateBatch, BatchBufferSet, rowAt, upload, uploadRows, type BatchBuffers } from '../plan.js';
import type { Random } from '../random.js';
import { EarlyStopping } from './early-stopping.js';
import { EpochBatches } from './epoch-batches.js';
import { CHECK_INTERVAL, WeightGuard } from './guard.js';
import { BatchLogs, epochLine, record, type History, type Logs } from './logs.js';
import type { ResolvedFitOptions } from './options.js';

export interface FitJob {
  net: Network;
  loss: LossName;
  optimizer: Optimizer;
  /** The compiled metrics, as bits (metrics.ts). */
  metrics: number;
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
  /** Batch logs per set of metrics (indexed by its bits): one shape each, so no fit deletes a field. */
  readonly batchLogs: BatchLogs[] = [];
  guard: WeightGuard | undefined = undefined;
  batches: EpochBatches | undefined = undefined;
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
      if (options.verbose > 0) console.log(epochLine(epoch, epochs, (performance.now() - started) / 1000, logs));
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
  const { net, loss, optimizer, metrics, trainRows } = job;
  if (objects.guard) objects.guard.reset(net, optimizer);
  else objects.guard = new WeightGuard(net, optimizer);
  const { totals, validationTotals } = objects;
  totals.loss = 0;
  totals.correct = 0;
  totals.squaredError = 0;
  totals.absoluteError = 0;
  totals.lastLoss = 0;
  if (objects.batches) objects.batches.reset(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  else objects.batches = new EpochBatches(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  const batchLogs = (objects.batchLogs[metrics] ??= BatchLogs.withMetrics(metrics));
  for (const key of ['loss', ...metricKeys(metrics)] as const) batchLogs[key] = 0;
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
  const { net, optimizer, metrics } = job;
  const callbacks = job.options.callbacks;
  const { batches, guard, totals, batchLogs } = loop;
  const replay = (b: number): number => batches.replay(b);
  let weightsSet = job.weightsSet();
  totals.loss = 0;
  totals.correct = 0;
  totals.squaredError = 0;
  totals.absoluteError = 0;
  for (let batch = 0; batch < batches.count; batch++) {
    if (batch % CHECK_INTERVAL === 0 || job.weightsSet() !== weightsSet) {
      guard.save(batch);
      weightsSet = job.weightsSet();
    }
    if (!batches.train(batch, metrics, batchLogs)) throw guard.locate('fit()', epoch, batch, replay);
    applyUpdate(net, optimizer);
    const checkNow = callbacks.onBatchEnd !== undefined || (batch + 1) % CHECK_INTERVAL === 0 || batch === batches.count - 1;
    if (checkNow && !guard.finite()) throw guard.locate('fit()', epoch, batch, replay);
    if (callbacks.onBatchEnd) {
      const pending = callbacks.onBatchEnd(batch, batchLogs);
      if (pending) await pending;
      if (job.isDisposed()) throw disposedDuringFit();
    }
  }
}

/** The epoch's mean training loss (and metrics), the validation figures, and the speed. */
function epochLogs(job: FitJob, loop: Loop, data: FitData, bufs: BatchBuffers, seconds: number): Logs {
  const { net, loss, metrics, trainRows } = job;
  const { totals, validationTotals } = loop;
  const logs: Logs = { loss: totals.loss / trainRows };
  const units = net.specs[net.specs.length - 1].units;
  addMetricLogs(logs, '', totals, trainRows, units, metrics);
  if (data.valRows > 0) {
    validationTotals.loss = 0;
    validationTotals.correct = 0;
    validationTotals.squaredError = 0;
    validationTotals.absoluteError = 0;
    evaluateRows(net, loss, data.xVal, data.yVal, data.valRows, bufs, metrics, validationTotals);
    logs.val_loss = validationTotals.loss / data.valRows;
    addMetricLogs(logs, 'val_', validationTotals, data.valRows, units, metrics);
  }
  logs.samplesPerSec = seconds > 0 ? trainRows / seconds : Infinity;
  return logs;
}

/** The metrics' means over `rows` rows of `units` outputs, from the totals, into logs under `prefix`. */
function addMetricLogs(logs: Logs, prefix: '' | 'val_', totals: Totals, rows: number, units: number, metrics: number): void {
  if ((metrics & METRIC_BITS.acc) !== 0) logs[`${prefix}acc`] = totals.correct / rows;
  if ((metrics & METRIC_BITS.mse) !== 0) logs[`${prefix}mse`] = totals.squaredError / (rows * units);
  if ((metrics & METRIC_BITS.mae) !== 0) logs[`${prefix}mae`] = totals.absoluteError / (rows * units);
}

function disposedDuringFit(): SimdnetError {
  return new SimdnetError('model', 'fit(): the model was disposed during training');
}
