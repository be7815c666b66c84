/**
 * The demo page: reads the form, hands the work to a worker, and draws what it reports.
 * The page never imports simdnet itself; only the worker does, so the main thread stays light.
 */
import { drawBoundary, drawChart, type Points } from './draw.js';
import type { DataRequest, DatasetName, FromWorker, Snapshot, ToWorker, TrainConfig } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const boundary = $<HTMLCanvasElement>('boundary');
const chart = $<HTMLCanvasElement>('chart');
const buttons = {
  train: $<HTMLButtonElement>('train'),
  continue: $<HTMLButtonElement>('continue'),
  stop: $<HTMLButtonElement>('stop'),
  save: $<HTMLButtonElement>('save'),
  open: $<HTMLButtonElement>('open'),
};
const loadInput = $<HTMLInputElement>('load');
const value = (id: string) => $<HTMLInputElement>(id).value;
const show = (id: string, text: string) => ($(id).textContent = text);

let worker: Worker;
let data: Points | null = null;
/** Whether the worker holds a model to continue or save. */
let hasModel = false;
const history = { epochs: [] as number[], loss: [] as number[], acc: [] as number[] };
const fastest: Record<'wasm' | 'js', number> = { wasm: 0, js: 0 };

function dataRequest(): DataRequest {
  return { dataset: value('dataset') as DatasetName, samples: Number(value('samples')), seed: Number(value('seed')) };
}

function epochsWanted(): number {
  const epochs = Number(value('epochs'));
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error('Epochs: give a whole number ≥ 1.');
  return epochs;
}

/** Reads and checks the form; throws a message meant for the user. */
function trainConfig(): TrainConfig {
  const hidden = value('hidden').split(/[\s,]+/).filter(Boolean).map(Number);
  if (hidden.some((u) => !Number.isInteger(u) || u < 1 || u > 1024)) {
    throw new Error('Hidden layers: give whole numbers of units between 1 and 1024, separated by commas, e.g. "16, 16".');
  }
  const learningRate = Number(value('learningRate'));
  if (!(learningRate > 0)) throw new Error('Learning rate: give a positive number, e.g. 0.01.');
  const batchSize = Number(value('batchSize'));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('Batch size: give a whole number ≥ 1.');
  const epochs = epochsWanted();
  return {
    ...dataRequest(),
    hidden,
    activation: value('activation') as TrainConfig['activation'],
    optimizer: value('optimizer') as TrainConfig['optimizer'],
    learningRate,
    batchSize,
    epochs,
    backend: $<HTMLInputElement>('useJs').checked ? 'js' : 'wasm',
  };
}

function send(msg: ToWorker): void {
  worker.postMessage(msg);
}

function setTraining(on: boolean): void {
  buttons.train.disabled = on;
  buttons.stop.disabled = !on;
  buttons.continue.disabled = buttons.save.disabled = on || !hasModel;
  buttons.open.disabled = on;
  for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) el.disabled = on;
}

/** The loss, accuracy and map of the worker's model. */
function showModel(msg: Snapshot): void {
  show('epoch', String(msg.epoch));
  show('loss', msg.loss >= 1e-3 ? msg.loss.toFixed(4) : msg.loss.toExponential(2));
  show('accuracy', `${(100 * msg.acc).toFixed(1)}%`);
  if (data) drawBoundary(boundary, data, msg.grid, msg.gridSize);
}

/** Puts a loaded model's settings back in the form (setting values fires no change event). */
function fillForm(config: TrainConfig): void {
  const fields = { ...config, hidden: config.hidden.join(', ') };
  for (const id of ['dataset', 'samples', 'seed', 'hidden', 'activation', 'optimizer', 'learningRate', 'batchSize'] as const) {
    $<HTMLInputElement>(id).value = String(fields[id]);
  }
}

/** Hands bytes to the browser as a file download. */
function download(bytes: Uint8Array<ArrayBuffer>, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  Object.assign(document.createElement('a'), { href: url, download: name }).click();
  // The download has started reading the blob by now; later, the URL is no longer needed.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function onMessage(msg: FromWorker): void {
  if (msg.type === 'data') {
    data = msg;
    drawBoundary(boundary, data, null, 0);
  } else if (msg.type === 'progress') {
    const first = msg.epoch - msg.epochLoss.length;
    msg.epochLoss.forEach((loss, i) => {
      history.epochs.push(first + i + 1);
      history.loss.push(loss);
      history.acc.push(msg.epochAcc[i] ?? 0);
    });
    fastest[msg.backend] = Math.max(fastest[msg.backend], msg.samplesPerSec);
    hasModel = true;
    showModel(msg);
    show('speed', `${Math.round(msg.samplesPerSec).toLocaleString('en')} (${msg.backend})`);
    show(`speed-${msg.backend}`, Math.round(fastest[msg.backend]).toLocaleString('en'));
    drawChart(chart, history.epochs, history.loss, history.acc);
  } else if (msg.type === 'loaded') {
    hasModel = true;
    fillForm(msg.config);
    showModel(msg);
    setTraining(false);
    show('status', `loaded (${msg.config.dataset}, ${msg.epoch} epochs)`);
  } else if (msg.type === 'saved') {
    download(msg.bytes, msg.name);
  } else if (msg.type === 'stopped') {
    setTraining(false);
    show('status', `stopped after ${msg.epoch} epochs`);
  } else {
    setTraining(false);
    show('status', 'error');
    show('error', msg.message);
  }
}

function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
  worker.onerror = (event) => onMessage({ type: 'error', message: event.message || 'the worker failed to start' });
}

/** Clears the run and draws fresh data. A training run is cut short by replacing its worker. */
function reset(): void {
  worker?.terminate();
  startWorker();
  history.epochs.length = history.loss.length = history.acc.length = 0;
  hasModel = false;
  drawChart(chart, [], [], []);
  for (const id of ['loss', 'accuracy', 'speed']) show(id, '–');
  show('epoch', '0');
  show('status', 'ready');
  show('error', '');
  setTraining(false);
  send({ type: 'data', request: dataRequest() });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  let config: TrainConfig;
  try {
    config = trainConfig();
  } catch (err) {
    show('error', (err as Error).message);
    return;
  }
  reset();
  setTraining(true);
  show('status', `training (${config.backend})`);
  send({ type: 'train', config });
});
buttons.continue.addEventListener('click', () => {
  let epochs: number;
  try {
    epochs = epochsWanted();
  } catch (err) {
    show('error', (err as Error).message);
    return;
  }
  show('error', '');
  setTraining(true);
  show('status', 'training (continued)');
  send({ type: 'continue', epochs });
});
buttons.stop.addEventListener('click', () => send({ type: 'stop' }));
buttons.save.addEventListener('click', () => send({ type: 'save' }));
buttons.open.addEventListener('click', () => loadInput.click());
loadInput.addEventListener('change', () => {
  const file = loadInput.files?.[0];
  if (!file) return;
  loadInput.value = ''; // so that choosing the same file again loads it again
  reset();
  show('status', 'loading');
  send({ type: 'load', file, backend: $<HTMLInputElement>('useJs').checked ? 'js' : 'wasm' });
});
$('reset').addEventListener('click', reset);
for (const id of ['dataset', 'samples', 'seed']) $(id).addEventListener('change', reset);

reset();
