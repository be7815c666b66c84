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
import { METRIC_BITS, metricKeys } from '../metrics.js';
import { applyUpdate, evaluateRows, measureInputs, Totals, type Network } from '../network.js';
import { stateSlots, type Optimizer } from '../optimizers.js';
import {
  allocateBatch, allocBytes, BatchBufferSet, batchBytes, checkMemory, rowAt, upload, uploadRows, type BatchBuffers, type MemoryParts,
} from '../plan.js';
import type { Random } from '../random.js';
import { learningRateAt } from '../schedules.js';
import { EarlyStopping } from './early-stopping.js';
import { ReduceLROnPlateau } from './reduce-lr.js';
import { EpochBatches } from './epoch-batches.js';
import { CHECK_INTERVAL, WeightGuard } from './guard.js';
import { HostYield, yieldToHost } from './host-yield.js';
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
  /** model.stopTraining: checked after every batch and epoch; fit then ends normally. */
  stopRequested(): boolean;
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
  readonly host = new HostYield();
}

export async function runFit(job: FitJob): Promise<History> {
  const { net, trainRows, options } = job;
  const { backend } = net;
  if (options.signal?.aborted) throw abortedError(options.signal, 'before training started; nothing was trained');
  // A training set that fits in one batch gives the same gradient in any order: no shuffles and no
  // gathers, the batch is read in place (also when resuming, so the replay in runEpochs matches).
  const shuffle = options.shuffle && trainRows > options.batchSize;
  checkFitMemory(job, shuffle);
  const top = backend.mark();
  try {
    const data = uploadData(job);
    measureInputs(net, data.nonzero, job.x.data.length); // all rows of x: validation runs on the same path
    const order = allocateOrder(net, trainRows);
    const objects = job.objects ?? new FitObjects();
    const bufs = allocateBatch(net.backend, net.specs, Math.min(options.batchSize, trainRows), { gather: shuffle, loss: true, backward: true }, objects.bufs);
    // Validation reuses these buffers in batches of bufs.rows, so it never needs its own.
    const stopping = options.earlyStopping ? new EarlyStopping(options.earlyStopping, net) : undefined;
    const plateau = options.reduceLROnPlateau ? new ReduceLROnPlateau(options.reduceLROnPlateau, net) : undefined;
    const loop = prepareLoop(job, objects, data, shuffle ? order : 0, bufs);
    const history = await runEpochs(job, loop, data, stopping, plateau);
    stopping?.restoreBest();
    return history;
  } finally {
    if (!job.isDisposed()) backend.release(top);
  }
}

/**
 * The epochs: shuffle, train, validate, log, then onEpochEnd, checkpoints and early stopping. An
 * epoch cut short by model.stopTraining (or a stop set during it) is logged and ends the fit.
 */
async function runEpochs(
  job: FitJob, loop: Loop, data: FitData, stopping: EarlyStopping | undefined, plateau: ReduceLROnPlateau | undefined,
): Promise<History> {
  const { net, trainRows, options, rng } = job;
  const { epochs, initialEpoch, checkpoints } = options;
  const history: History = { epoch: [], history: { loss: [] } };
  const order = loop.batches.order;
  // Resuming: the shuffles of the skipped epochs are replayed (no training), so that the order
  // of rows in each later epoch is the one the uninterrupted run had.
  if (order !== 0) for (let epoch = 0; epoch < initialEpoch; epoch++) rng.shuffleInt32(net.backend.i32, order >>> 2, trainRows);
  loop.host.restart();
  for (let epoch = initialEpoch; epoch < epochs; epoch++) {
    const started = performance.now();
    if (order !== 0) rng.shuffleInt32(net.backend.i32, order >>> 2, trainRows);
    const rows = await trainEpoch(job, loop, epoch);
    if (data.valRows > 0) await validate(job, loop, data);
    const logs = epochLogs(job, loop, data, rows, (performance.now() - started) / 1000);
    record(history, epoch, logs);
    if (options.verbose > 0) console.log(epochLine(epoch, epochs, (performance.now() - started) / 1000, logs));
    if (options.callbacks.onEpochEnd) await options.callbacks.onEpochEnd(epoch, logs);
    if (job.isDisposed()) throw disposedDuringFit();
    for (const checkpoint of checkpoints) {
      await checkpoint.afterEpoch(epoch, logs, (includeOptimizer) => job.save(includeOptimizer));
      if (job.isDisposed()) throw disposedDuringFit();
    }
    // Between epochs the clock is read every time (validation and callbacks make an epoch's end slow anyway).
    if (loop.host.due()) {
      await yieldToHost();
      loop.host.restart();
      if (job.isDisposed()) throw disposedDuringFit();
    }
    checkAborted(job, epoch, -1);
    plateau?.afterEpoch(logs);
    if (stopping?.shouldStop(logs) || job.stopRequested()) break;
  }
  return history;
}

/**
 * Between batches (batch ≥ 0) or after an epoch's callbacks (batch −1): rejects when the signal
 * was aborted. Synchronous, like the other checks between batches: an async call per step would
 * allocate its promise.
 */
function checkAborted(job: FitJob, epoch: number, batch: number): void {
  const signal = job.options.signal;
  if (signal?.aborted) {
    const where = batch < 0 ? `after epoch ${epoch}` : `in epoch ${epoch}, after batch ${batch}`;
    throw abortedError(signal, `${where} (counted from 0); the model is as after that batch`);
  }
}

function abortedError(signal: AbortSignal, what: string): SimdnetError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.name !== 'AbortError' ? ` (${reason.message})` : '';
  return new SimdnetError('signal', `fit(): aborted by options.signal${why} ${what}`, { cause: reason });
}

/** What runFit allocates, by part, against the backend's limit: refused before anything is allocated. */
function checkFitMemory(job: FitJob, shuffle: boolean): void {
  const { net, options, trainRows } = job;
  const floats = net.mem.layout.partFloats;
  const rows = Math.min(options.batchSize, trainRows);
  const batch = batchBytes(net.specs, rows, { gather: shuffle, loss: true, backward: true });
  const validation = job.validation ? allocBytes(job.validation.x.data.length) + allocBytes(job.validation.y.data.length) : 0;
  const data = allocBytes(job.x.data.length) + allocBytes(job.y.data.length) + allocBytes(trainRows);
  const parts: MemoryParts = [
    ['for the rows of x and y and their order', data],
    ['for validationData', validation],
    ['for the batch buffers', batch],
    ["for the non-finite guard's copy of the weights and optimizer state", allocBytes((1 + stateSlots(job.optimizer)) * floats)],
    ["for early stopping's best weights", options.earlyStopping?.restoreBestWeights ? allocBytes(floats) : 0],
  ];
  const argument = batch > data + validation ? 'batchSize' : validation > data ? 'validationData' : 'x';
  checkMemory(net.backend, 'fit()', argument, parts, 'train on fewer rows per call, hold out fewer validation rows, or use a smaller batchSize or model');
}

/** The data set in backend memory: validationSplit rows are read in place after the training rows. */
interface FitData {
  x: Ptr;
  y: Ptr;
  /** Nonzero elements of x (all its rows), for the input density. */
  nonzero: number;
  xVal: Ptr;
  yVal: Ptr;
  valRows: number;
}

function uploadData(job: FitJob): FitData {
  const { backend, specs } = job.net;
  const { ptr: x, nonzero } = uploadRows(backend, job.x, 'fit()', 'x');
  const y = upload(backend, job.y.data);
  if (job.validation) {
    const xVal = uploadRows(backend, job.validation.x, 'fit()', 'validationData[0]').ptr;
    return { x, y, nonzero, xVal, yVal: upload(backend, job.validation.y.data), valRows: job.validation.x.rows };
  }
  return {
    x, y, nonzero,
    xVal: rowAt(x, job.trainRows, specs[0].inputUnits),
    yVal: rowAt(y, job.trainRows, specs[specs.length - 1].units),
    valRows: job.x.rows - job.trainRows,
  };
}

/** The row order shuffled each epoch (i32, in backend memory), initially 0 … rows − 1. */
function allocateOrder(net: Network, rows: number): Ptr {
  const order = net.backend.alloc(rows);
  const first = order >>> 2;
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
  host: HostYield;
  bufs: BatchBuffers;
  /** job.weightsSet() when the guard last took note: a change means a callback replaced the weights. */
  weightsSet: number;
}

function prepareLoop(job: FitJob, objects: FitObjects, data: FitData, order: Ptr, bufs: BatchBuffers): Loop {
  const { net, loss, optimizer, metrics, trainRows } = job;
  if (objects.guard) objects.guard.reset(net, optimizer);
  else objects.guard = new WeightGuard(net, optimizer);
  const { totals, validationTotals } = objects;
  resetTotals(totals);
  totals.lastLoss = 0;
  if (objects.batches) objects.batches.reset(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  else objects.batches = new EpochBatches(net, loss, data.x, data.y, trainRows, order, bufs, totals);
  const batchLogs = (objects.batchLogs[metrics] ??= BatchLogs.withMetrics(metrics));
  for (const key of ['loss', ...metricKeys(metrics)] as const) batchLogs[key] = 0;
  return { batches: objects.batches, guard: objects.guard, totals, validationTotals, batchLogs, host: objects.host, bufs, weightsSet: job.weightsSet() };
}

/**
 * One epoch of steps, with the non-finite guard (guard.ts) woven in: it saves at the start of each
 * run of CHECK_INTERVAL steps (an epoch starts a run, so replays never cross a reshuffle), before
 * the epoch's last step, and after a callback replaced the weights, each time once the batch's loss
 * is known finite; it checks the loss at every step, and the update at the end of each run and
 * before each batch callback, so that callbacks never see non-finite weights. On a failure the
 * guard replays batches (adding to totals, which are dropped with the error). Between
 * batches it pauses (see pause); model.stopTraining ends the epoch early. Returns the rows trained.
 */
async function trainEpoch(job: FitJob, loop: Loop, epoch: number): Promise<number> {
  const { net, optimizer, metrics } = job;
  const callbacks = job.options.callbacks;
  const { batches, guard, totals, batchLogs, host } = loop;
  const replay = (b: number): number => batches.replay(b);
  let countdown = host.stride;
  let unchecked = false; // updates since the guard last checked the weights
  resetTotals(totals);
  for (let batch = 0; batch < batches.count; batch++) {
    const last = batch === batches.count - 1;
    let save = batch % CHECK_INTERVAL === 0 || last;
    if (job.weightsSet() !== loop.weightsSet) {
      loop.weightsSet = job.weightsSet();
      guard.barrier();
      save = true;
    }
    // A save holds checked weights only (the last batch's may follow unchecked updates).
    if (save && unchecked && !guard.finite()) throw guard.locate('fit()', epoch, batch - 1, replay);
    if (!batches.train(batch, metrics, batchLogs)) throw guard.locate('fit()', epoch, batch, replay);
    if (save) guard.save(epoch, batch); // after the loss is known finite: train() changed no weight
    try {
      applyUpdate(net, optimizer);
    } catch (err) {
      // A worker thread stopped half-way through the update: back to the weights before this step.
      if (err instanceof ThreadsStoppedError) guard.rewind(batch, replay);
      throw err;
    }
    unchecked = true;
    const checkNow = callbacks.onBatchEnd !== undefined || (batch + 1) % CHECK_INTERVAL === 0 || last;
    if (checkNow) {
      if (!guard.finite()) throw guard.locate('fit()', epoch, batch, replay);
      unchecked = false;
    }
    // stopTraining and the signal can only change in code that runs here: a callback, or the
    // host's tasks during a yield. So they are looked at then, and a batch without either costs
    // nothing more than a countdown.
    let look = false;
    if (callbacks.onBatchEnd) {
      const pending = callbacks.onBatchEnd(batch, batchLogs);
      if (pending) await pending;
      if (job.isDisposed()) throw disposedDuringFit();
      look = true;
    }
    if (last) break;
    if (--countdown === 0) {
      if (host.due()) {
        await yieldToHost();
        host.restart();
        if (job.isDisposed()) throw disposedDuringFit();
        look = true;
      }
      countdown = host.stride;
    }
    if (look && interrupted(job)) {
      // Nothing may leave the loop with weights the guard has not checked.
      if (unchecked && !guard.finite()) throw guard.locate('fit()', epoch, batch, replay);
      checkAborted(job, epoch, batch);
      return batches.rowsBefore(batch + 1);
    }
  }
  return job.trainRows;
}

/** Whether model.stopTraining is set or the signal aborted. */
function interrupted(job: FitJob): boolean {
  return job.stopRequested() || job.options.signal?.aborted === true;
}

function resetTotals(totals: Totals): void {
  totals.loss = 0;
  totals.correct = 0;
  totals.squaredError = 0;
  totals.absoluteError = 0;
}

/** The validation figures of the epoch into loop.validationTotals, in batches of bufs.rows with pauses between. */
async function validate(job: FitJob, loop: Loop, data: FitData): Promise<void> {
  const { net, loss, metrics } = job;
  const { bufs, validationTotals } = loop;
  resetTotals(validationTotals);
  const inWidth = net.specs[0].inputUnits;
  const outWidth = net.specs[net.specs.length - 1].units;
  for (let start = 0; start < data.valRows; start += bufs.rows) {
    const m = Math.min(bufs.rows, data.valRows - start);
    evaluateRows(net, loss, rowAt(data.xVal, start, inWidth), rowAt(data.yVal, start, outWidth), m, bufs, metrics, validationTotals);
    if (start + m < data.valRows && loop.host.due()) {
      await yieldToHost();
      loop.host.restart();
      if (job.isDisposed()) throw disposedDuringFit();
    }
  }
}

/** The epoch's mean training loss (and metrics) over the `rows` it trained, the validation figures, and the speed. */
function epochLogs(job: FitJob, loop: Loop, data: FitData, rows: number, seconds: number): Logs {
  const { net, metrics } = job;
  const { totals, validationTotals } = loop;
  const logs: Logs = { loss: totals.loss / rows };
  const units = net.specs[net.specs.length - 1].units;
  addMetricLogs(logs, '', totals, rows, units, metrics);
  if (data.valRows > 0) {
    logs.val_loss = validationTotals.loss / data.valRows;
    addMetricLogs(logs, 'val_', validationTotals, data.valRows, units, metrics);
  }
  logs.samplesPerSec = seconds > 0 ? rows / seconds : Infinity;
  logs.lr = net.schedule === null ? net.lr : learningRateAt(net.schedule, Math.max(net.step - 1, 0));
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
