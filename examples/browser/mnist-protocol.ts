/** Messages between the MNIST page and its two workers (mnist-worker.ts, tfjs-worker.ts). */
import type { ThreadsInfo } from './threads.js';

/** One training run's settings; the comparison gives both libraries the same. */
export interface MnistSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  threads: number;
}

/** The network both libraries train: 784 inputs, two ReLU layers, a softmax over the ten digits. */
export const HIDDEN = [128, 64] as const;

export type ToMnistWorker =
  /** Download the digits; answered by 'ready'. */
  | { type: 'load'; url: string }
  /** A fresh model (seeded), trained for settings.epochs. */
  | { type: 'train'; settings: MnistSettings }
  /** The current model, trained for more epochs with its own settings. */
  | { type: 'continue'; epochs: number }
  | { type: 'stop' }
  /** Classify one 28×28 image (pixels in [0, 1]); answered by 'prediction' with the same id. */
  | { type: 'predict'; id: number; pixels: Float32Array }
  /** A test digit picked at random; answered by 'sample'. */
  | { type: 'sample' };

export type FromMnistWorker =
  | { type: 'ready'; trainRows: number; testRows: number; downloadBytes: number; threadsOption: boolean }
  | {
    type: 'progress';
    /** Per batch since the last message: its position in epochs (3.5 = half way through the 4th), loss, accuracy. */
    x: number[];
    loss: number[];
    acc: number[];
    /** Over the run so far: training samples per second of fit time. */
    samplesPerSec: number;
  }
  | { type: 'epoch'; epoch: number; testLoss: number; testAcc: number }
  | { type: 'started'; threads: ThreadsInfo }
  /** The run is over: `finished` when it trained all its epochs, not when Stop cut it short. */
  | { type: 'done'; epoch: number; finished: boolean; samplesPerSec: number; seconds: number; testAcc: number; threads: number }
  | { type: 'prediction'; id: number; probabilities: Float32Array }
  | { type: 'sample'; index: number; label: number; pixels: Float32Array }
  | { type: 'error'; message: string };

export type ToTfjsWorker = { type: 'train'; url: string; settings: MnistSettings };

export type FromTfjsWorker =
  | { type: 'status'; text: string }
  | { type: 'epoch'; epoch: number; loss: number; acc: number }
  | { type: 'done'; samplesPerSec: number; seconds: number; testAcc: number; threads: number; build: string; version: string }
  | { type: 'error'; message: string };
