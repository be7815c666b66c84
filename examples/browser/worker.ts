/**
 * Trains off the main thread so the page stays responsive. Training runs in chunks of epochs that
 * take about CHUNK_MS; between chunks the worker reports progress and yields to its event loop,
 * which is when a Stop message can arrive. At a pace (epochs per second at most), it also waits
 * between chunks, so that a run on a small data set lasts long enough to be watched. The model
 * stays here after training, for Continue and Save; Load replaces it.
 */
import { circles, dense, loadModel, moons, sequential, spiral, xor, type Sequential } from 'simdnet';
import { DATASETS, type Bounds, type DataRequest, type FromWorker, type SavedRun, type Snapshot, type ToWorker, type TrainConfig } from './protocol.js';
import { threadsOf, threadsSupported, withThreads } from './threads.js';

const CHUNK_MS = 60;
const GRID = 64;

const generators = { spiral, moons, circles, xor };

interface Data {
  points: Float32Array;
  labels: Int32Array;
  classes: number;
  bounds: Bounds;
  /** The GRID×GRID cell centres of the map, row by row from the top (largest y) down. */
  grid: Float32Array;
}

/** The model the page shows, with what it was trained on. */
interface Run {
  model: Sequential;
  config: TrainConfig;
  data: Data;
  epoch: number;
}

let run: Run | null = null;
let stopRequested = false;
let running = false;
/** Epochs per second at most; 0: full speed. */
let pace = 0;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, { transfer });
}

/** The smallest square holding every point, with a margin, so the map keeps its aspect ratio. */
function squareAround(points: Float32Array): Bounds {
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  points.forEach((v, i) => {
    lo[i % 2] = Math.min(lo[i % 2], v);
    hi[i % 2] = Math.max(hi[i % 2], v);
  });
  const size = 1.15 * Math.max(hi[0] - lo[0], hi[1] - lo[1], 1e-6);
  return { x0: (lo[0] + hi[0] - size) / 2, y0: (lo[1] + hi[1] - size) / 2, size };
}

function makeData({ dataset, samples, seed }: DataRequest): Data {
  const { x, y } = generators[dataset](samples, seed);
  const points = Float32Array.from(x.data);
  const labels = Int32Array.from(y, (v) => Math.round(v));
  const classes = Math.max(2, labels.reduce((a, b) => Math.max(a, b), 0) + 1);
  const bounds = squareAround(points);
  const grid = new Float32Array(GRID * GRID * 2);
  const step = bounds.size / GRID;
  for (let r = 0; r < GRID; r++)
    for (let c = 0; c < GRID; c++) {
      grid[2 * (r * GRID + c)] = bounds.x0 + (c + 0.5) * step;
      grid[2 * (r * GRID + c) + 1] = bounds.y0 + bounds.size - (r + 0.5) * step;
    }
  return { points, labels, classes, bounds, grid };
}

/** A fresh model for `config`, replacing the current one. */
async function newRun(config: TrainConfig): Promise<Run> {
  run?.model.dispose();
  run = null;
  const data = makeData(config);
  const binary = data.classes === 2;
  const units = [...config.hidden, binary ? 1 : data.classes];
  const model = await sequential(await withThreads({
    layers: units.map((u, i) =>
      dense({
        units: u,
        activation: i < config.hidden.length ? config.activation : binary ? 'sigmoid' : 'softmax',
        ...(i === 0 ? { inputShape: [2] as [number] } : {}),
      }),
    ),
    backend: config.backend,
    // Fixed, so that the wasm and JS runs start from the same weights and can be compared.
    seed: 42,
  }, config.threads));
  model.compile({
    loss: binary ? 'binaryCrossentropy' : 'categoricalCrossentropy',
    optimizer: { type: config.optimizer, learningRate: config.learningRate },
    metrics: ['accuracy'],
  });
  return (run = { model, config, data, epoch: 0 });
}

/** A model saved by this page, with its data set made again from the settings in its metadata. */
async function loadRun(file: File, backend: 'wasm' | 'js'): Promise<Run> {
  run?.model.dispose();
  run = null;
  const model = await loadModel(file, { backend });
  try {
    const saved = model.metadata as Partial<SavedRun> | null | undefined;
    if (!saved?.config || !(DATASETS as readonly string[]).includes(saved.config.dataset) || typeof saved.epoch !== 'number') {
      throw new Error('This file holds a model, but not one saved by this page (its settings are missing).');
    }
    const config = { ...saved.config, backend, threads: saved.config.threads ?? 1 };
    return (run = { model, config, data: makeData(config), epoch: saved.epoch });
  } catch (err) {
    model.dispose();
    throw err;
  }
}

function snapshot({ model, data, epoch }: Run): Snapshot {
  const x = { data: data.points, shape: [data.labels.length, 2] as [number, number] };
  const { loss, acc } = model.evaluate(x, data.labels, { batchSize: 256 });
  const grid = model.predict({ data: data.grid, shape: [GRID * GRID, 2] }).data;
  return { epoch, loss, acc: acc ?? 0, grid, gridSize: GRID };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function train(current: Run, epochs: number): Promise<void> {
  const { model, config, data } = current;
  post({ type: 'started', threads: await threadsOf(model) });
  const n = data.labels.length;
  const x = { data: data.points, shape: [n, 2] as [number, number] };
  const end = current.epoch + epochs;
  let chunk = 1, samples = 0, seconds = 0;
  while (!stopRequested && current.epoch < end) {
    const count = Math.min(chunk, end - current.epoch);
    const t0 = performance.now();
    const { history } = await model.fit(x, data.labels, { epochs: count, batchSize: config.batchSize });
    const took = (performance.now() - t0) / 1000;
    samples += count * n;
    seconds += took;
    current.epoch += count;
    const shot = snapshot(current);
    post(
      {
        type: 'progress',
        ...shot,
        epochLoss: history.loss,
        epochAcc: history.acc ?? [],
        samplesPerSec: samples / seconds,
        backend: config.backend,
      },
      [shot.grid.buffer],
    );
    if (pace > 0) {
      // The epochs due in one chunk's time at this pace, then a wait until they are due.
      chunk = Math.max(1, Math.min(500, Math.round((pace * CHUNK_MS) / 1000)));
      await sleep(Math.max(0, (1000 * count) / pace - (performance.now() - t0)));
    } else {
      // Sized from this chunk, so progress arrives at a steady rate on either backend.
      chunk = Math.max(1, Math.min(500, Math.round((count * CHUNK_MS) / 1000 / Math.max(took, 1e-4))));
      await sleep(0);
    }
  }
  post({ type: 'stopped', epoch: current.epoch, finished: current.epoch >= end, samples, seconds, backend: config.backend });
}

/** The points for the page to draw (copied, not transferred: a run keeps its data). */
function postData({ points, labels, classes, bounds }: Data): void {
  post({ type: 'data', points, labels, classes, bounds });
}

function fail(err: unknown): void {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

/** Runs one request at a time; its failure becomes an error message for the page. */
function exclusive(task: () => void | Promise<void>): void {
  if (running) return;
  stopRequested = false;
  running = true;
  Promise.resolve()
    .then(task)
    .catch(fail)
    .finally(() => (running = false));
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'stop') {
    stopRequested = true;
  } else if (msg.type === 'data') {
    try {
      postData(makeData(msg.request));
    } catch (err) {
      fail(err);
    }
  } else if (msg.type === 'pace') {
    pace = msg.pace;
  } else if (msg.type === 'train') {
    pace = msg.pace;
    exclusive(async () => train(await newRun(msg.config), msg.config.epochs));
  } else if (msg.type === 'continue') {
    pace = msg.pace;
    exclusive(async () => {
      if (!run) throw new Error('There is no model to train on: press Train or load one.');
      await train(run, msg.epochs);
    });
  } else if (msg.type === 'save') {
    exclusive(() => {
      if (!run) throw new Error('There is no model to save yet: train one first.');
      const { config, epoch } = run;
      const bytes = run.model.save({ metadata: { config, epoch } satisfies SavedRun });
      post({ type: 'saved', bytes, name: `${config.dataset}-${epoch}-epochs.snet` }, [bytes.buffer]);
    });
  } else if (msg.type === 'load') {
    exclusive(async () => {
      const loaded = await loadRun(msg.file, msg.backend);
      postData(loaded.data);
      const shot = snapshot(loaded);
      post({ type: 'loaded', config: loaded.config, ...shot }, [shot.grid.buffer]);
      post({ type: 'started', threads: await threadsOf(loaded.model) });
    });
  }
};

threadsSupported().then(
  (threadsOption) => post({ type: 'capabilities', threadsOption }),
  fail,
);
