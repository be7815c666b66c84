/**
 * The 2-D page: reads the form, hands the work to a worker, and draws what it reports.
 * The page never imports simdnet itself; only the worker does, so the main thread stays light.
 */
import { TrainingChart } from './chart.js';
import { drawBoundary, type Points } from './draw.js';
import type { DataRequest, DatasetName, FromWorker, Snapshot, ToWorker, TrainConfig } from './protocol.js';
import { ThreadsControl } from './threads-control.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const boundary = $<HTMLCanvasElement>('boundary');
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
const count = (n: number) => Math.round(n).toLocaleString('en');
const threads = new ThreadsControl($<HTMLSelectElement>('threads'), $('threadsUsed'), $('threads-note'), 1);
const chart = new TrainingChart($('chart'), [
  { label: 'loss', scale: 'loss', stroke: '#2f62c4' },
  { label: 'accuracy', scale: 'acc', stroke: '#c2452d' },
]);

let worker: Worker;
let data: Points | null = null;
/** Whether the worker holds a model to continue or save. */
let hasModel = false;
let training = false;
/** The settings of the model in the worker, and whether its runs may be compared (see below). */
let current: TrainConfig | null = null;

/**
 * Samples/s of whole runs, per backend, kept per setup: the data set, its size, the network and the
 * batch size decide the work per sample, so only runs that share them are compared.
 */
const speeds = new Map<string, Partial<Record<'wasm' | 'js', number>>>();
const setupKey = (c: TrainConfig) => JSON.stringify([c.dataset, c.samples, c.hidden, c.activation, c.optimizer, c.batchSize, c.threads]);

function dataRequest(): DataRequest {
  return { dataset: value('dataset') as DatasetName, samples: Number(value('samples')), seed: Number(value('seed')) };
}

/** A message for the visitor about one input. */
class FieldError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

function epochsWanted(): number {
  const epochs = Number(value('epochs'));
  if (!Number.isInteger(epochs) || epochs < 1) throw new FieldError('epochs', 'Epochs: give a whole number ≥ 1.');
  return epochs;
}

/** Reads and checks the form; throws a FieldError. */
function trainConfig(): TrainConfig {
  const samples = Number(value('samples'));
  if (!Number.isInteger(samples) || samples < 20 || samples > 5000) throw new FieldError('samples', 'Points: give a whole number from 20 to 5000.');
  const hidden = value('hidden').split(/[\s,]+/).filter(Boolean).map(Number);
  if (hidden.some((u) => !Number.isInteger(u) || u < 1 || u > 1024)) {
    throw new FieldError('hidden', 'Hidden layers: give whole numbers of units between 1 and 1024, separated by commas, e.g. "16, 16".');
  }
  const learningRate = Number(value('learningRate'));
  if (!(learningRate > 0)) throw new FieldError('learningRate', 'Learning rate: give a positive number, e.g. 0.01.');
  const batchSize = Number(value('batchSize'));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FieldError('batchSize', 'Batch size: give a whole number ≥ 1.');
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
    threads: threads.value,
  };
}

/** Checks the form as it is edited, so an error goes away as soon as its input is fixed. */
function validate(): TrainConfig | null {
  let field = '';
  let config: TrainConfig | null = null;
  try {
    config = trainConfig();
    show('error', '');
  } catch (err) {
    field = (err as FieldError).field;
    show('error', (err as Error).message);
  }
  for (const input of form.querySelectorAll('input')) {
    if (input.id === field) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  showSpeeds(config);
  return config;
}

const pace = () => Number(value('pace'));

function send(msg: ToWorker): void {
  worker.postMessage(msg);
}

function setTraining(on: boolean): void {
  training = on;
  buttons.train.disabled = on;
  buttons.stop.disabled = !on;
  buttons.continue.disabled = buttons.save.disabled = on || !hasModel;
  buttons.open.disabled = on;
  for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
    // The pace and the log scale may change during a run; the threads only where offered.
    el.disabled = on && el.id !== 'pace' && el.id !== 'logScale';
  }
  if (!threads.available) $<HTMLSelectElement>('threads').disabled = true;
}

/** The comparison for the setup in the form: each backend's last whole run of it. */
function showSpeeds(config: TrainConfig | null): void {
  const entry = config ? speeds.get(setupKey(config)) : undefined;
  for (const backend of ['wasm', 'js'] as const) {
    const speed = entry?.[backend];
    show(`speed-${backend}`, speed ? count(speed) : '–');
  }
  if (entry?.wasm && entry.js) show('speed-js', `${count(entry.js)} (wasm ${(entry.wasm / entry.js).toFixed(1)}× faster)`);
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

function onProgress(msg: Extract<FromWorker, { type: 'progress' }>): void {
  const first = msg.epoch - msg.epochLoss.length;
  chart.append(msg.epochLoss.map((_, i) => first + i + 1), [msg.epochLoss, msg.epochAcc]);
  hasModel = true;
  showModel(msg);
  show('speed', `${count(msg.samplesPerSec)} (${msg.backend})`);
}

function onStopped(msg: Extract<FromWorker, { type: 'stopped' }>): void {
  setTraining(false);
  const epochs = `${msg.epoch} epoch${msg.epoch === 1 ? '' : 's'}`;
  show('status', msg.finished ? `finished: ${epochs}` : `stopped after ${epochs}`);
  if (current && msg.seconds > 0) {
    const key = setupKey(current);
    speeds.set(key, { ...speeds.get(key), [msg.backend]: msg.samples / msg.seconds });
  }
  showSpeeds(validate());
}

function onMessage(msg: FromWorker): void {
  if (msg.type === 'capabilities') {
    threads.report({ option: msg.threadsOption });
    setTraining(training);
  } else if (msg.type === 'started') {
    threads.report(msg.threads);
  } else if (msg.type === 'data') {
    data = msg;
    drawBoundary(boundary, data, null, 0);
  } else if (msg.type === 'progress') {
    onProgress(msg);
  } else if (msg.type === 'loaded') {
    hasModel = true;
    current = msg.config;
    fillForm(msg.config);
    showModel(msg);
    setTraining(false);
    show('status', `loaded (${msg.config.dataset}, ${msg.epoch} epochs)`);
  } else if (msg.type === 'saved') {
    download(msg.bytes, msg.name);
  } else if (msg.type === 'stopped') {
    onStopped(msg);
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
  chart.clear();
  hasModel = false;
  current = null;
  for (const id of ['loss', 'accuracy', 'speed']) show(id, '–');
  show('epoch', '0');
  show('status', 'ready');
  setTraining(false);
  validate();
  send({ type: 'data', request: dataRequest() });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const config = validate();
  if (!config) return;
  reset();
  current = config;
  setTraining(true);
  show('status', `training (${config.backend})`);
  send({ type: 'train', config, pace: pace() });
});
form.addEventListener('input', () => validate());
buttons.continue.addEventListener('click', () => {
  let epochs: number;
  try {
    epochs = epochsWanted();
  } catch (err) {
    validate();
    show('error', (err as Error).message);
    return;
  }
  setTraining(true);
  show('status', 'training (continued)');
  send({ type: 'continue', epochs, pace: pace() });
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
$('pace').addEventListener('change', () => send({ type: 'pace', pace: pace() }));
$<HTMLInputElement>('logScale').addEventListener('change', (e) => (chart.logScale = (e.target as HTMLInputElement).checked));
for (const id of ['dataset', 'samples', 'seed']) {
  $(id).addEventListener('change', () => {
    if (validate()) reset();
  });
}

reset();
