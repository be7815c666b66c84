/** Messages between the demo page and its training worker. Shared by main.ts and worker.ts. */

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
  | { type: 'train'; config: TrainConfig }
  /** Train the current model (trained here or loaded) for more epochs, with its own settings. */
  | { type: 'continue'; epochs: number }
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
  | { type: 'data'; points: Float32Array; labels: Int32Array; classes: number; bounds: Bounds }
  | ({
    type: 'progress';
    /** Per epoch of this chunk, as fit() logged them (means over the epoch's batches). */
    epochLoss: number[];
    epochAcc: number[];
    samplesPerSec: number;
    backend: 'wasm' | 'js';
  } & Snapshot)
  | ({ type: 'loaded'; config: TrainConfig } & Snapshot)
  | { type: 'saved'; bytes: Uint8Array<ArrayBuffer>; name: string }
  | { type: 'stopped'; epoch: number }
  | { type: 'error'; message: string };
