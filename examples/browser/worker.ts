/**
 * Trains off the main thread so the page stays responsive. Training runs in chunks of epochs
 * sized to take about CHUNK_MS; between chunks the worker reports progress and yields to its event
 * loop, which is when a Stop message can arrive.
 */
import { circles, dense, moons, sequential, spiral, xor } from 'simdnet';
import type { Bounds, DataRequest, FromWorker, ToWorker, TrainConfig } from './protocol.js';

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

let stopRequested = false;
let running = false;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, { transfer });
}

/** The smallest square holding every point, with a margin, so the map keeps its aspect ratio. */
function squareAround(points: Float32Array): Bounds {
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  points.forEach((v, i) => {
    lo[i % 2] = Math.min(lo[i % 2]!, v);
    hi[i % 2] = Math.max(hi[i % 2]!, v);
  });
  const size = 1.15 * Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, 1e-6);
  return { x0: (lo[0]! + hi[0]! - size) / 2, y0: (lo[1]! + hi[1]! - size) / 2, size };
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

async function train(config: TrainConfig): Promise<void> {
  const data = makeData(config);
  const n = data.labels.length;
  const binary = data.classes === 2;
  const units = [...config.hidden, binary ? 1 : data.classes];
  const model = await sequential({
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
  });
  try {
    model.compile({
      loss: binary ? 'binaryCrossentropy' : 'categoricalCrossentropy',
      optimizer: { type: config.optimizer, learningRate: config.learningRate },
      metrics: ['accuracy'],
    });
    const x = { data: data.points, shape: [n, 2] as [number, number] };
    let epoch = 0;
    let chunk = 1;
    while (!stopRequested && epoch < config.epochs) {
      const epochs = Math.min(chunk, config.epochs - epoch);
      const t0 = performance.now();
      const { history } = await model.fit(x, data.labels, { epochs, batchSize: config.batchSize });
      const seconds = (performance.now() - t0) / 1000;
      epoch += epochs;
      const { loss, acc } = model.evaluate(x, data.labels, { batchSize: 256 });
      const grid = model.predict({ data: data.grid, shape: [GRID * GRID, 2] }).data.slice();
      post(
        {
          type: 'progress',
          epoch,
          loss,
          acc: acc ?? 0,
          epochLoss: history.loss,
          epochAcc: history.acc ?? [],
          samplesPerSec: (epochs * n) / seconds,
          backend: config.backend,
          grid,
          gridSize: GRID,
        },
        [grid.buffer],
      );
      // Size the next chunk from this one, so progress arrives at a steady rate on either backend.
      chunk = Math.max(1, Math.min(500, Math.round((epochs * CHUNK_MS) / 1000 / Math.max(seconds, 1e-4))));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    post({ type: 'stopped', epoch });
  } finally {
    model.dispose();
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  try {
    if (msg.type === 'stop') {
      stopRequested = true;
    } else if (msg.type === 'data') {
      const { points, labels, classes, bounds } = makeData(msg.request);
      post({ type: 'data', points, labels, classes, bounds }, [points.buffer, labels.buffer]);
    } else if (msg.type === 'train' && !running) {
      stopRequested = false;
      running = true;
      train(msg.config)
        .catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }))
        .finally(() => (running = false));
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
