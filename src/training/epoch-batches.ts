import type { Ptr } from '../backend/backend.js';
import type { LossName } from '../losses.js';
import { METRIC_BITS } from '../metrics.js';
import { computeBatch, type Network, type Totals } from '../network.js';
import { rowAt, type BatchBuffers } from '../plan.js';
import type { Logs } from './logs.js';

/**
 * An epoch's training batches in backend memory: batch b is rows b·bufs.rows onwards, read in place,
 * or gathered into bufs through the shuffled row order when shuffling.
 */
export class EpochBatches {
  count = 0;
  #net!: Network;
  #loss!: LossName;
  #x: Ptr = 0;
  #y: Ptr = 0;
  #rows = 0;
  /** The shuffled row order (i32), or 0 to read rows in place. */
  order: Ptr = 0;
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
    this.order = order;
    this.#bufs = bufs;
    this.#totals = totals;
    this.count = Math.ceil(rows / bufs.rows);
  }

  /** Rows in the batches before batch b. */
  rowsBefore(batch: number): number {
    return Math.min(this.#rows, batch * this.#bufs.rows);
  }

  /** Rows in batch b. */
  size(batch: number): number {
    return Math.min(this.#bufs.rows, this.#rows - batch * this.#bufs.rows);
  }

  /**
   * run(batch), with the batch's loss (and the metrics in `metrics`, bits) written to `logs`; false
   * when the loss is not finite. A step's doubles stay in here, out of fit's unoptimized async loop
   * (docs/ARCHITECTURE.md, 'Number boxing').
   */
  train(batch: number, metrics: number, logs: Logs): boolean {
    const totals = this.#totals;
    const correctBefore = totals.correct;
    const squaredBefore = totals.squaredError;
    const absoluteBefore = totals.absoluteError;
    this.run(batch, metrics);
    const value = totals.lastLoss;
    logs.loss = value;
    if (metrics !== 0) {
      const m = this.size(batch);
      const outputs = m * this.#net.specs[this.#net.specs.length - 1].units;
      if ((metrics & METRIC_BITS.acc) !== 0) logs.acc = (totals.correct - correctBefore) / m;
      if ((metrics & METRIC_BITS.mse) !== 0) logs.mse = (totals.squaredError - squaredBefore) / outputs;
      if ((metrics & METRIC_BITS.mae) !== 0) logs.mae = (totals.absoluteError - absoluteBefore) / outputs;
    }
    return value - value === 0;
  }

  /** run(batch) for the guard's replay after a failure: returns the batch's loss. */
  replay(batch: number): number {
    this.run(batch, 0);
    return this.#totals.lastLoss;
  }

  /** Forward, loss and backward on batch b: fills the gradients, adds to the totals and sets totals.lastLoss. */
  run(batch: number, metrics: number): void {
    const net = this.#net, bufs = this.#bufs;
    const inWidth = net.specs[0].inputUnits;
    const outWidth = net.specs[net.specs.length - 1].units;
    const start = batch * bufs.rows;
    const m = this.size(batch);
    if (this.order === 0) {
      computeBatch(net, this.#loss, rowAt(this.#x, start, inWidth), rowAt(this.#y, start, outWidth), m, bufs, metrics, this.#totals);
      return;
    }
    net.backend.gatherRows(this.#x, rowAt(this.order, start, 1), m, inWidth, bufs.x);
    net.backend.gatherRows(this.#y, rowAt(this.order, start, 1), m, outWidth, bufs.y);
    computeBatch(net, this.#loss, bufs.x, bufs.y, m, bufs, metrics, this.#totals);
  }
}
