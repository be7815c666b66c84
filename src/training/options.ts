/** fit's options: their public shape, their defaults and their checks. */
import { checkKeys, invalid, isPlainObject, isPositiveInteger, plural, SimdnetError } from '../errors.js';
import type { LabelsLike, MatrixLike } from '../data.js';
import { checkSeed } from '../random.js';
import { parseCheckpoints, type Checkpoint, type CheckpointOptions } from './checkpoint.js';
import { parseEarlyStopping, type EarlyStoppingConfig, type EarlyStoppingOptions } from './early-stopping.js';
import type { Callbacks } from './logs.js';
import { parseReduceLROnPlateau, type ReduceLROnPlateauConfig, type ReduceLROnPlateauOptions } from './reduce-lr.js';

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
  /** Lower a constant learning rate when a monitored metric stops improving (Keras' ReduceLROnPlateau). */
  reduceLROnPlateau?: ReduceLROnPlateauOptions;
  /**
   * 0 (the default): print nothing. 1 or 2: print a line per epoch with console.log (Keras' 2;
   * there is no progress bar).
   */
  verbose?: 0 | 1 | 2;
  /**
   * Stops training when aborted: fit rejects with a SimdnetError saying so, and the model is as
   * after its last completed batch. Checked after every batch.
   */
  signal?: AbortSignal;
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
  reduceLROnPlateau?: ReduceLROnPlateauConfig;
  verbose: 0 | 1 | 2;
  signal?: AbortSignal;
}

const FIT_KEYS = [
  'epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'seed', 'callbacks',
  'initialEpoch', 'earlyStopping', 'checkpoint', 'reduceLROnPlateau', 'verbose', 'signal',
];

/** `metrics`: the compiled metrics (bits, metrics.ts), so that monitors of them can be checked. */
export function parseFitOptions(where: string, options: unknown, metrics: number): ResolvedFitOptions {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalid(where, 'options', 'an object such as { epochs: 10, batchSize: 32 }', options);
  checkKeys(where, 'options', options, FIT_KEYS);
  const { epochs = 1, batchSize = 32, shuffle = true, validationSplit = 0, validationData, seed, initialEpoch = 0 } = options;
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
  const logged = { validation: validationData !== undefined || validationSplit > 0, metrics };
  return {
    epochs, batchSize, shuffle, validationSplit,
    validationData: validationData as readonly [unknown, unknown] | undefined,
    seed: seed as number | undefined,
    callbacks: checkCallbacks(where, options.callbacks),
    initialEpoch: initialEpoch as number,
    earlyStopping: options.earlyStopping === undefined ? undefined : parseEarlyStopping(where, options.earlyStopping, logged),
    checkpoints: options.checkpoint === undefined ? [] : parseCheckpoints(where, options.checkpoint, logged),
    reduceLROnPlateau: options.reduceLROnPlateau === undefined ? undefined : parseReduceLROnPlateau(where, options.reduceLROnPlateau, logged),
    verbose: checkVerbose(where, options.verbose),
    signal: checkSignal(where, options.signal),
  };
}

function checkCallbacks(where: string, callbacks: unknown = {}): Callbacks {
  if (!isPlainObject(callbacks)) throw invalid(where, 'callbacks', 'an object with onEpochEnd / onBatchEnd functions', callbacks);
  checkKeys(where, 'callbacks', callbacks, ['onEpochEnd', 'onBatchEnd']);
  for (const [name, fn] of Object.entries(callbacks)) {
    if (fn !== undefined && typeof fn !== 'function') throw invalid(where, `callbacks.${name}`, 'a function', fn);
  }
  return callbacks;
}

function checkVerbose(where: string, verbose: unknown = 0): 0 | 1 | 2 {
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) {
    throw invalid(where, 'verbose', '0 (silent), 1 or 2 (a line per epoch)', verbose);
  }
  return verbose;
}

function isPlainObjectLike(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** An AbortSignal (or anything shaped like one: `aborted` and addEventListener), or undefined. */
function checkSignal(where: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!isPlainObjectLike(signal) || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw invalid(where, 'signal', 'an AbortSignal (from new AbortController().signal)', signal);
  }
  return signal as unknown as AbortSignal;
}

/** Training rows first, then (for validationSplit) the held-out rows at the end, as Keras does. */
export function trainingRows(where: string, rows: number, validationSplit: number): number {
  const train = Math.floor(rows * (1 - validationSplit));
  if (train < 1 || (validationSplit > 0 && train === rows)) {
    throw new SimdnetError(
      'validationSplit',
      `${where}: validationSplit ${validationSplit} of ${plural(rows, 'row')} must leave at least one row for training ` +
        `and one for validation, got ${train} for training and ${rows - train} for validation`,
    );
  }
  return train;
}
