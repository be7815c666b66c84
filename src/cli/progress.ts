/**
 * Training progress: a cli-progress bar per epoch on a terminal; plain lines when stdout is a
 * pipe or a CI log, where redrawing a bar would leave a mess of carriage returns.
 */
import cliProgress from 'cli-progress';

export interface BatchStats {
  /** Mean over the epoch so far. */
  loss: number;
  acc?: number;
}

export interface EpochStats extends BatchStats {
  val_loss?: number;
  val_acc?: number;
}

export interface TrainingProgress {
  epochStart(epoch: number): void;
  batchEnd(samplesDone: number, stats: BatchStats): void;
  epochEnd(epoch: number, stats: EpochStats): void;
  /** Leave the terminal as it was (cursor shown), also after an error. */
  stop(): void;
}

export interface ProgressOptions {
  epochs: number;
  samplesPerEpoch: number;
  /** Show accuracy (classification) or only the loss (regression). */
  accuracy: boolean;
  /** Threads the model trains on, shown beside the speed (default 1). */
  threads?: number;
  stream?: NodeJS.WriteStream;
  /** Draw a bar; defaults to whether the stream is a terminal that can redraw a line (TERM is not dumb). */
  interactive?: boolean;
}

/** Seconds between plain progress lines inside a long epoch. */
const PLAIN_INTERVAL_S = 5;

export function createProgress(options: ProgressOptions): TrainingProgress {
  const stream = options.stream ?? process.stdout;
  const interactive = options.interactive ?? (stream.isTTY === true && process.env.TERM !== 'dumb');
  return interactive ? new BarProgress(options, stream) : new PlainProgress(options, stream);
}

export const formatInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const formatPercent = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;
/** "1 row", "2 rows": a count and a word that takes an s. */
export const plural = (n: number, word: string): string => `${formatInt(n)} ${word}${n === 1 ? '' : 's'}`;
export const formatLoss = (loss: number): string => (Math.abs(loss) >= 1e4 ? loss.toExponential(3) : loss.toFixed(4));

function epochLabel(epoch: number, epochs: number): string {
  return `${String(epoch + 1).padStart(String(epochs).length)}/${epochs}`;
}

/** The line printed when an epoch ends, in both modes. */
/** "1,234 samples/s" with the thread count when there is more than one: "1,234 samples/s on 2 threads". */
export function speedLabel(samplesPerSec: number, threads = 1): string {
  return `${formatInt(samplesPerSec)} samples/s${threads > 1 ? ` on ${threads} threads` : ''}`;
}

export function epochSummary(epoch: number, epochs: number, stats: EpochStats, samplesPerSec: number, seconds: number, threads = 1): string {
  const parts = [`epoch ${epochLabel(epoch, epochs)}`, `loss ${formatLoss(stats.loss)}`];
  if (stats.acc !== undefined) parts.push(`acc ${formatPercent(stats.acc)}`);
  if (stats.val_loss !== undefined) parts.push(`val_loss ${formatLoss(stats.val_loss)}`);
  if (stats.val_acc !== undefined) parts.push(`val_acc ${formatPercent(stats.val_acc)}`);
  parts.push(speedLabel(samplesPerSec, threads), `${seconds.toFixed(1)} s`);
  return parts.join('  ');
}

abstract class EpochClock {
  protected epochStarted = 0;
  protected samplesDone = 0;
  // Speed is timed from the end of the epoch's first batch: before it, fit() is copying the data
  // set into backend memory, which is not training speed.
  private speedFrom = -1;
  private speedBase = 0;
  private speedSeconds = 0;

  constructor(protected readonly options: ProgressOptions, protected readonly stream: NodeJS.WriteStream) {}

  protected startClock(): void {
    this.epochStarted = performance.now();
    this.samplesDone = 0;
    this.speedFrom = -1;
    this.speedBase = 0;
    this.speedSeconds = 0;
  }

  protected batchDone(samplesDone: number): void {
    const now = performance.now();
    this.samplesDone = samplesDone;
    if (this.speedFrom < 0) {
      this.speedFrom = now;
      this.speedBase = samplesDone;
    } else {
      this.speedSeconds = (now - this.speedFrom) / 1000;
    }
  }

  protected seconds(): number {
    return (performance.now() - this.epochStarted) / 1000;
  }

  /** Training samples per second so far in this epoch (the validation pass excluded). */
  protected speed(): number {
    if (this.speedSeconds > 0) return (this.samplesDone - this.speedBase) / this.speedSeconds;
    // A one-batch epoch: only the whole epoch's time is known.
    const s = this.seconds();
    return s > 0 ? this.samplesDone / s : 0;
  }

  protected finishLine(epoch: number, stats: EpochStats): string {
    return epochSummary(epoch, this.options.epochs, stats, this.speed(), this.seconds(), this.options.threads);
  }
}

class BarProgress extends EpochClock implements TrainingProgress {
  private bar: cliProgress.SingleBar | undefined;

  epochStart(epoch: number): void {
    this.startClock();
    const accuracy = this.options.accuracy ? ' | acc {acc}' : '';
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `epoch {epoch} {bar} {percentage}% | {value}/{total} | loss {loss}${accuracy} | {speed} samples/s${(this.options.threads ?? 1) > 1 ? ` on ${this.options.threads} threads` : ''} | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        // The finished bar gives way to the epoch's line.
        clearOnComplete: true,
        formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? formatInt(value) : String(value)),
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.options.samplesPerEpoch, 0, {
      epoch: epochLabel(epoch, this.options.epochs),
      loss: '-',
      acc: '-',
      speed: '-',
    });
  }

  batchEnd(samplesDone: number, stats: BatchStats): void {
    this.batchDone(samplesDone);
    this.bar?.update(samplesDone, {
      loss: formatLoss(stats.loss),
      acc: stats.acc === undefined ? '-' : formatPercent(stats.acc),
      speed: formatInt(this.speed()),
    });
  }

  epochEnd(epoch: number, stats: EpochStats): void {
    this.bar?.update(this.options.samplesPerEpoch);
    this.bar?.stop();
    this.bar = undefined;
    this.stream.write(`${this.finishLine(epoch, stats)}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

class PlainProgress extends EpochClock implements TrainingProgress {
  private lastLine = 0;
  private epoch = 0;

  epochStart(epoch: number): void {
    this.startClock();
    this.epoch = epoch;
    this.lastLine = performance.now();
  }

  batchEnd(samplesDone: number, stats: BatchStats): void {
    this.batchDone(samplesDone);
    const now = performance.now();
    if (now - this.lastLine < PLAIN_INTERVAL_S * 1000 || samplesDone >= this.options.samplesPerEpoch) return;
    this.lastLine = now;
    const parts = [
      `epoch ${epochLabel(this.epoch, this.options.epochs)}`,
      `${formatInt(samplesDone)}/${formatInt(this.options.samplesPerEpoch)}`,
      `loss ${formatLoss(stats.loss)}`,
    ];
    if (stats.acc !== undefined) parts.push(`acc ${formatPercent(stats.acc)}`);
    parts.push(speedLabel(this.speed(), this.options.threads));
    this.stream.write(`${parts.join('  ')}\n`);
  }

  epochEnd(epoch: number, stats: EpochStats): void {
    this.stream.write(`${this.finishLine(epoch, stats)}\n`);
  }

  stop(): void {}
}
