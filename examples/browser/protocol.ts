/** Messages between the demo page and its training worker. Shared by main.ts and worker.ts. */
import type { ThreadsInfo } from './threads.js';

export const DATASETS = ['spiral', 'moons', 'circles', 'xor'] as const;
export type DatasetName = (typeof DATASETS)[number];

export interface DataRequest {
  dataset: DatasetName;
  samples: number;
  seed: number;
}

export interface TrainConfig extends DataRequest {
  hidden: number[];
  activation: 'relu' | 'tanh' | 'sigmoid' | 'leakyRelu';
  optimizer: 'sgd' | 'momentum' | 'adam';
  learningRate: number;
  batchSize: number;
  epochs: number;
  backend: 'wasm' | 'js';
  /** Asked for; used when the library takes a `threads` option (threads.ts). */
  threads: number;
}

/** The square of the plane the decision map covers: x in [x0, x0 + size], y in [y0, y0 + size]. */
export interface Bounds {
  x0: number;
  y0: number;
  size: number;
}

/** Kept in a saved model's metadata, so that Load can bring back its data set and settings. */
export interface SavedRun {
  config: TrainConfig;
  epoch: number;
}

export type ToWorker =
  | { type: 'data'; request: DataRequest }
  /** pace: at most this many epochs a second, so that a run can be watched; 0 for full speed. */
  | { type: 'train'; config: TrainConfig; pace: number }
  /** Train the current model (trained here or loaded) for more epochs, with its own settings. */
  | { type: 'continue'; epochs: number; pace: number }
  /** A new pace for the run under way. */
  | { type: 'pace'; pace: number }
  | { type: 'stop' }
  | { type: 'save' }
  | { type: 'load'; file: File; backend: 'wasm' | 'js' };

/** The current model: its loss and accuracy on the whole data set, and its decision map. */
export interface Snapshot {
  epoch: number;
  loss: number;
  acc: number;
  /** gridSize² rows of `classes` probabilities (one column for two classes: P(class 1)). */
  grid: Float32Array;
  gridSize: number;
}

export type FromWorker =
  | { type: 'capabilities'; threadsOption: boolean }
  | { type: 'started'; threads: ThreadsInfo }
  | { type: 'data'; points: Float32Array; labels: Int32Array; classes: number; bounds: Bounds }
  | ({
    type: 'progress';
    /** Per epoch of this chunk, as fit() logged them (means over the epoch's batches). */
    epochLoss: number[];
    epochAcc: number[];
    /** Over the run so far (fit() time only): a chunk alone is too short to time well. */
    samplesPerSec: number;
    backend: 'wasm' | 'js';
  } & Snapshot)
  | ({ type: 'loaded'; config: TrainConfig } & Snapshot)
  | { type: 'saved'; bytes: Uint8Array<ArrayBuffer>; name: string }
  /**
   * The run is over: `finished` when it trained all its epochs, not when Stop cut it short. samples
   * and seconds: the whole run's, fit() time only (not the pauses of the pace).
   */
  | { type: 'stopped'; epoch: number; finished: boolean; samples: number; seconds: number; backend: 'wasm' | 'js' }
  | { type: 'error'; message: string };
