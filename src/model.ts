/**
 * Sequential: a stack of dense layers on one backend, with the Keras-style life cycle
 * sequential() → compile → fit / predict / evaluate → save / dispose. Every public method checks
 * its arguments first and changes nothing when it rejects them.
 */
import type { Backend, BackendName } from './backend/backend.js';
import { checkBackendName, checkThreads, createBackend } from './backend/index.js';
import { toLabels, toMatrix, type LabelsLike, type MatrixLike, type Rows } from './data.js';
import { checkKeys, describeValue, invalid, isPlainObject, isPositiveInteger, SimdnetError } from './errors.js';
import { FitObjects, runFit } from './training/fit.js';
import type { History } from './training/logs.js';
import { parseFitOptions, trainingRows, type FitOptions } from './training/options.js';
import { checkSizes } from './io/limits.js';
import { encodeModel, type ModelFile } from './io/snet.js';
import { encodeTfjs, type TfjsModel } from './io/tfjs.js';
import { initializeKernel, normWeights, resolveLayers, type Layer, type LayerConfig, type LayerSpec } from './layers.js';
import { checkLoss, resolveLoss, type LossAlias, type LossName } from './losses.js';
import { checkMetrics, METRIC_BITS, metricBits, type MetricName } from './metrics.js';
import { initialState, parseOptimizer, stateSlots, type Optimizer, type OptimizerConfig, type OptimizerName } from './optimizers.js';
import {
  allocateBatch, allocateModel, allocBytes, batchBytes, checkMemory, initialParams, layoutParams, modelBytes, readFlat, upload, uploadRowRange, uploadRows,
  writeFlat, type BatchNeeds, type MemoryParts, type TensorSlot,
} from './plan.js';
import { checkSeed, Random } from './random.js';
import { sharedNumbers } from './scalars.js';
import {
  backward, batchLoss, evaluateRows, forward, measureInputs, predictRows, SPARSE_MAX_DENSITY, Totals, type Network, type SparseInputs,
} from './network.js';

export interface SequentialConfig {
  /** dense(), dropout() and activation() layers (or dense configs); the first is dense, with inputShape. */
  layers: ReadonlyArray<LayerConfig>;
  /** Default 'wasm'. */
  backend?: BackendName;
  /**
   * wasm only: run on the relaxed-SIMD build, whose GEMM uses fused multiply-add (faster; results
   * differ from the default build's in the last bits). The engine must accept relaxed SIMD: in
   * Node 20, start node with --experimental-wasm-relaxed-simd. Default false.
   */
  relaxedSimd?: boolean;
  /**
   * Threads to train and predict on, the calling one included: 'auto' (the default: the cores
   * available, where threads can run) or a number. Results are bit-identical for every count.
   * `threads: 1` runs everything on the calling thread. See `model.threads` and `model.threadsReason`.
   */
  threads?: 'auto' | number;
  /** Seeds weight initialisation and (unless fit gets its own seed) shuffling; default 0. */
  seed?: number;
  /**
   * 'auto' (default): fit, predict and evaluate measure the density of their inputs and run the
   * first layer on the sparse kernels, which skip the zeros, when at most 35% of the inputs are
   * nonzero; the results are the same bits as the dense path. false: always the dense path.
   */
  sparseInputs?: SparseInputs;
}

export interface CompileConfig {
  /** A name, or its alias ('bce', 'cce', 'mse'); the model keeps the name. */
  loss: LossName | LossAlias;
  /** A name (with its defaults) or a config; default 'adam'. */
  optimizer?: OptimizerName | OptimizerConfig;
  metrics?: MetricName[];
}

export interface Prediction {
  data: Float32Array;
  shape: [number, number];
}

export interface Evaluation {
  loss: number;
  /** Present when compiled with metrics: ['accuracy'] (or 'acc'). */
  acc?: number;
  /** Present when compiled with metrics: ['mse'] (or 'meanSquaredError'): the mean of (a − y)² over rows and outputs. */
  mse?: number;
  /** Present when compiled with metrics: ['mae'] (or 'meanAbsoluteError'): the mean of |a − y| over rows and outputs. */
  mae?: number;
}

export interface BatchOptions {
  /** Rows per forward pass; default 256. */
  batchSize?: number;
}

export interface SaveOptions {
  /** Any JSON value, kept with the model (default: the model's own `metadata`). */
  metadata?: unknown;
  /** Also save the optimizer's state and step, to resume training exactly; default true. */
  includeOptimizer?: boolean;
}

export interface LoadOptions {
  /** Default 'wasm'. */
  backend?: BackendName;
  /** As in sequential(): 'auto' (the default) or a number of threads. */
  threads?: 'auto' | number;
}

const DEFAULT_SEED = 0;
const DEFAULT_EVAL_BATCH = 256;

interface Compiled {
  loss: LossName;
  optimizer: Optimizer;
  metrics: MetricName[];
  /** The metrics as bits (metrics.ts). */
  metricBits: number;
}

/** Builds a model: checks the layers, creates its backend, lays out its memory and initialises it. */
export async function sequential(config: SequentialConfig): Promise<Sequential> {
  return build('sequential()', config);
}

/** @internal sequential() under another name, for the loaders' messages. */
export async function build(where: string, config: unknown): Promise<Sequential> {
  if (!isPlainObject(config)) throw invalid(where, 'config', 'an object such as { layers: [...] }', config);
  checkKeys(where, 'config', config, ['layers', 'backend', 'relaxedSimd', 'threads', 'seed', 'sparseInputs']);
  const { layers, specs } = resolveLayers(where, config.layers);
  const backendName = checkBackendName(where, config.backend ?? 'wasm');
  const relaxed = config.relaxedSimd ?? false;
  if (typeof relaxed !== 'boolean') throw invalid(where, 'relaxedSimd', 'true or false', relaxed);
  if (relaxed && backendName !== 'wasm') throw invalid(where, 'relaxedSimd', "false with backend 'js' (relaxed SIMD is a build of the wasm backend)", relaxed);
  const threads = checkThreads(where, config.threads ?? 'auto');
  const seed = config.seed === undefined ? DEFAULT_SEED : checkSeed(where, 'seed', config.seed);
  const sparseInputs = checkSparseInputs(where, 'sparseInputs', config.sparseInputs ?? 'auto');
  const backend = await createBackend(backendName, { relaxed, threads, modelParams: layoutParams(specs).count });
  try {
    checkMemory(backend, where, 'layers', [['for its weights, gradients and optimizer state', modelBytes(specs)]], 'use fewer or narrower layers');
  } catch (err) {
    backend.dispose(); // its threads, if any
    throw err;
  }
  const model = new Sequential(backend, layers, specs, seed);
  model.sparseInputs = sparseInputs;
  return model;
}

function checkSparseInputs(where: string, arg: string, value: unknown): SparseInputs {
  if (value !== 'auto' && value !== false) throw invalid(where, arg, "'auto' or false", value);
  return value;
}

export class Sequential {
  /** The layers' configs, defaults filled in. */
  readonly layers: readonly Layer[];
  readonly inputUnits: number;
  readonly outputUnits: number;
  /** Any JSON value the application keeps with the model (saved and loaded with it). */
  metadata: unknown = undefined;
  /**
   * Set it to true (in a callback, or from a timer or handler while fit runs) to end training:
   * fit checks it after every batch and epoch, finishes that epoch early (its logs cover the
   * batches that ran; onEpochEnd, checkpoints and early stopping see it as usual) and resolves to
   * the history so far. Each fit starts by setting it to false (as in Keras and TensorFlow.js).
   */
  stopTraining = false;

  #net: Network | null;
  readonly #seed: number;
  /**
   * Shuffles for fits without their own seed: one stream, so successive fits differ reproducibly.
   * A fit draws from a copy and hands it back when it ends, so that save() during a fit writes the
   * stream as that fit found it (what a resume with initialEpoch replays from); model files keep it.
   */
  #shuffleRng: Random;
  #compiled: Compiled | null = null;
  #fitting = false;
  /** Counts setWeights calls: how fit's non-finite guard learns that a callback replaced the weights. */
  #weightsSet = 0;
  /** The JS objects of fit's steps, kept from one fit to the next (fit.ts explains why). */
  #fitObjects: FitObjects | null = null;

  /** @internal Use `sequential()` or `loadModel()`. */
  constructor(backend: Backend, layers: Layer[], specs: LayerSpec[], seed: number) {
    this.layers = Object.freeze(layers);
    this.inputUnits = specs[0].inputUnits;
    this.outputUnits = specs[specs.length - 1].units;
    this.#seed = seed;
    this.#shuffleRng = new Random(seed, 1);
    const mem = allocateModel(backend, specs);
    this.#net = sharedNumbers<Network>({
      backend, specs, mem, step: 0, lr: 0, schedule: null, seed: seed | 0, sparseInputs: 'auto', inputDensity: NaN, sparseInput: false,
    });
    // Initial weights are drawn in TypeScript and uploaded, so they are the same bits on every backend.
    const rng = new Random(seed, 0);
    backend.f32.set(initialParams(mem.layout, specs, (spec, out, offset) => initializeKernel(spec, rng, out, offset)), mem.params >>> 2);
  }

  /** The kernels this model runs on. */
  get backend(): Backend {
    return this.#use('backend').backend;
  }

  /** Threads the model trains and predicts on, the calling one included (0 once disposed). */
  get threads(): number {
    return this.#net?.backend.threads ?? 0;
  }

  /**
   * Why the model runs on fewer threads than it was asked for (for example "SharedArrayBuffer
   * needs a cross-origin-isolated page (COOP/COEP headers, see docs/API.md)"), or undefined.
   */
  get threadsReason(): string | undefined {
    return this.#net === null ? 'the model has been disposed' : this.#net.backend.threadsReason;
  }

  /**
   * Whether the first layer may run on the sparse kernels: 'auto' (when the inputs of a call are at
   * most 35% nonzero) or false (never). Same results either way; settable between calls.
   */
  get sparseInputs(): SparseInputs {
    return this.#use('sparseInputs').sparseInputs;
  }

  set sparseInputs(value: SparseInputs) {
    const net = this.#use('sparseInputs');
    net.sparseInputs = checkSparseInputs('sparseInputs', 'sparseInputs', value);
  }

  /**
   * The share of nonzero elements in the inputs of the last fit, predict or evaluate (measured on
   * up to 1,024 rows spread over them), NaN before the first: what the 'auto' switch decided on.
   */
  get inputDensity(): number {
    return this.#use('inputDensity').inputDensity;
  }

  /**
   * Sets the loss, the optimizer and the metrics. Resets the optimizer's state and step, as a fresh
   * optimizer would have them; the weights are kept.
   */
  compile(config: CompileConfig): void {
    const where = 'compile()';
    const net = this.#use(where);
    if (this.#fitting) throw new SimdnetError('model', `${where}: the model is training; compile after fit() has finished`);
    if (!isPlainObject(config)) throw invalid(where, 'config', "an object such as { loss: 'binaryCrossentropy', optimizer: 'adam' }", config);
    checkKeys(where, 'config', config, ['loss', 'optimizer', 'metrics']);
    const loss = checkLoss(where, resolveLoss(where, config.loss), net.specs[net.specs.length - 1]);
    const optimizer = parseOptimizer(where, config.optimizer ?? 'adam');
    const metrics = checkMetrics(where, config.metrics ?? []);
    this.#compiled = { loss, optimizer, metrics, metricBits: metricBits(metrics) };
    const { backend, mem } = net;
    // Each slot the optimizer uses starts at its initial value; the padding floats stay 0.
    const start = initialState(optimizer);
    for (const slot of [mem.state0, mem.state1, mem.state2]) {
      backend.fill(slot, mem.layout.partFloats, 0);
      if (start !== 0) for (const t of trainable(net)) backend.fill(slot + 4 * t.offset, t.size, start);
    }
    net.step = 0;
    net.lr = typeof optimizer.learningRate === 'number' ? optimizer.learningRate : 0;
    net.schedule = typeof optimizer.learningRate === 'number' ? null : optimizer.learningRate;
  }

  /** Trains for `epochs` passes over x, y; resolves to the per-epoch losses and metrics. */
  async fit(x: MatrixLike, y: LabelsLike, options?: FitOptions): Promise<History> {
    const where = 'fit()';
    const net = this.#use(where);
    const compiled = this.#requireCompiled(where);
    if (this.#fitting) throw new SimdnetError('model', `${where}: the model is already training; await the running fit() first`);
    const opts = parseFitOptions(where, options, compiled.metricBits);
    if (opts.reduceLROnPlateau && net.schedule !== null) {
      throw new SimdnetError('reduceLROnPlateau', `${where}: reduceLROnPlateau lowers a constant learning rate, but the optimizer's learningRate is a schedule`);
    }
    const xs = this.#inputs(where, 'x', x);
    const ys = toLabels(where, 'y', y, xs.rows, this.outputUnits, compiled.loss);
    let trainRows = xs.rows;
    let validation: { x: Rows; y: Rows } | undefined;
    if (opts.validationData) {
      const xv = this.#inputs(where, 'validationData[0]', opts.validationData[0]);
      validation = { x: xv, y: toLabels(where, 'validationData[1]', opts.validationData[1], xv.rows, this.outputUnits, compiled.loss, 'validationData[0]') };
    } else if (opts.validationSplit > 0) {
      trainRows = trainingRows(where, xs.rows, opts.validationSplit);
    }
    const rng = opts.seed === undefined ? this.#shuffleRng.clone() : new Random(opts.seed, 1);
    this.#fitting = true;
    this.stopTraining = false;
    try {
      return await runFit({
        net, loss: compiled.loss, optimizer: compiled.optimizer, metrics: compiled.metricBits,
        x: xs, y: ys, trainRows, validation, options: opts,
        rng,
        isDisposed: () => this.#net === null,
        stopRequested: () => this.stopTraining,
        weightsSet: () => this.#weightsSet,
        save: (includeOptimizer) => this.save({ includeOptimizer }),
        objects: (this.#fitObjects ??= new FitObjects()),
      });
    } finally {
      this.#fitting = false;
      if (opts.seed === undefined) this.#shuffleRng = rng;
    }
  }

  /** The output layer's activations for each row of x: shape [rows, outputUnits]. */
  predict(x: MatrixLike, options: BatchOptions = {}): Prediction {
    const where = 'predict()';
    const net = this.#use(where);
    const batchSize = checkBatchOptions(where, options);
    const xs = this.#inputs(where, 'x', x);
    const needs = { gather: false, loss: false, backward: false };
    checkCallMemory(net, where, xs, undefined, batchSize, needs);
    const out = new Float32Array(xs.rows * this.outputUnits);
    this.#scoped(net, () => {
      const xData = net.backend.alloc(xs.data.length, false); // filled batch by batch by predictRows
      const bufs = allocateBatch(net.backend, net.specs, Math.min(batchSize, xs.rows), needs);
      this.#keepingDensity(net, () => {
        predictRows(net, xData, xs.rows, bufs, out, (from, to) => uploadRowRange(net.backend, xs, xData, from, to, where, 'x'));
      });
    });
    return { data: out, shape: [xs.rows, this.outputUnits] };
  }

  /** Mean loss over x, y (and accuracy when compiled with it), without training. */
  evaluate(x: MatrixLike, y: LabelsLike, options: BatchOptions = {}): Evaluation {
    const where = 'evaluate()';
    const net = this.#use(where);
    const compiled = this.#requireCompiled(where);
    const batchSize = checkBatchOptions(where, options);
    const xs = this.#inputs(where, 'x', x);
    const ys = toLabels(where, 'y', y, xs.rows, this.outputUnits, compiled.loss);
    const bits = compiled.metricBits;
    const needs = { gather: false, loss: true, backward: false };
    checkCallMemory(net, where, xs, ys, batchSize, needs);
    const totals = new Totals();
    this.#scoped(net, () => {
      const xData = net.backend.alloc(xs.data.length, false); // filled batch by batch by evaluateRows
      const yData = upload(net.backend, ys.data);
      const bufs = allocateBatch(net.backend, net.specs, Math.min(batchSize, xs.rows), needs);
      this.#keepingDensity(net, () => {
        evaluateRows(net, compiled.loss, xData, yData, xs.rows, bufs, bits, totals, (from, to) => uploadRowRange(net.backend, xs, xData, from, to, where, 'x'));
      });
    });
    const result: Evaluation = { loss: totals.loss / xs.rows };
    const outputs = xs.rows * this.outputUnits;
    if ((bits & METRIC_BITS.acc) !== 0) result.acc = totals.correct / xs.rows;
    if ((bits & METRIC_BITS.mse) !== 0) result.mse = totals.squaredError / outputs;
    if ((bits & METRIC_BITS.mae) !== 0) result.mae = totals.absoluteError / outputs;
    return result;
  }

  /**
   * The model as bytes (format in io/snet.ts): layers, compile settings, weights, optimizer state
   * and step, metadata, and the position of its shuffle stream. loadModel() restores it bit for bit. For a file in the browser, wrap the
   * bytes in a Blob; in Node, see saveModelFile in 'simdnet/node'.
   */
  save(options: SaveOptions = {}): Uint8Array<ArrayBuffer> {
    const where = 'save()';
    const net = this.#use(where);
    this.#checkLimits(where, net);
    if (!isPlainObject(options)) throw invalid(where, 'options', 'an object such as { metadata: {...} }', options);
    checkKeys(where, 'options', options, ['metadata', 'includeOptimizer']);
    const includeOptimizer = options.includeOptimizer ?? true;
    if (typeof includeOptimizer !== 'boolean') throw invalid(where, 'includeOptimizer', 'true or false', includeOptimizer);
    const metadata = checkJson(where, 'metadata', 'metadata' in options ? options.metadata : this.metadata);
    const compiled = this.#compiled;
    const slots = includeOptimizer && compiled ? stateSlots(compiled.optimizer) : 0;
    // Optimizer state exists for the trainable parameters only.
    const state = new Float32Array(slots * net.mem.layout.count);
    const slotPtrs = [net.mem.state0, net.mem.state1, net.mem.state2].slice(0, slots);
    slotPtrs.forEach((slot, i) => state.set(readFlat(net, slot, true), i * net.mem.layout.count));
    return encodeModel(
      {
        layers: this.layers,
        loss: compiled?.loss ?? null,
        optimizer: compiled?.optimizer ?? null,
        metrics: compiled?.metrics ?? [],
        step: includeOptimizer && compiled ? net.step : 0,
        seed: this.#seed,
        metadata,
        paramCount: net.mem.layout.total,
        stateSlots: slots,
        // A learning rate lowered by reduceLROnPlateau is part of the optimizer's state.
        ...(includeOptimizer && compiled && typeof compiled.optimizer.learningRate === 'number' && net.lr !== compiled.optimizer.learningRate
          ? { lr: net.lr } : {}),
        shuffleState: this.#shuffleRng.state(),
      },
      readFlat(net, net.mem.params),
      state,
    );
  }

  /**
   * The model in the TensorFlow.js Layers format: `modelJson` is the content of a model.json
   * (modelTopology and weightsManifest) and `weightsBin` the weights file it names, which
   * tf.loadLayersModel reads. Architecture and weights only; compile settings are not carried.
   */
  toTfjs(): TfjsModel {
    const where = 'toTfjs()';
    const net = this.#use(where);
    this.#checkLimits(where, net);
    return encodeTfjs(this.layers, this.inputUnits, this.getWeights());
  }

  /**
   * Copies of every tensor, [W1, b1, W2, b2, …], each W row-major [inputUnits × units]; a layer
   * with batch normalization adds, after its b, γ (when scale), β (when center), the moving mean
   * and the moving variance (TF.js' order).
   */
  getWeights(): Float32Array[] {
    const net = this.#use('getWeights()');
    const f32 = net.backend.f32;
    return net.mem.layout.tensors.map(({ offset, size }) => f32.slice((net.mem.params >>> 2) + offset, (net.mem.params >>> 2) + offset + size));
  }

  /** Replaces all weights; `weights` as returned by getWeights(). The optimizer state is kept. */
  setWeights(weights: ReadonlyArray<ArrayLike<number>>): void {
    const where = 'setWeights()';
    const net = this.#use(where);
    const { specs, mem, backend } = net;
    const tensors = mem.layout.tensors;
    if (!Array.isArray(weights) || weights.length !== tensors.length) {
      throw invalid(where, 'weights', `an array of ${tensors.length} arrays [${tensorNames(specs, tensors).slice(0, 6).join(', ')}${tensors.length > 6 ? ', …' : ''}] as getWeights() returns`, weights);
    }
    const arrays = weights.map((w: unknown, i) => {
      const t = tensors[i];
      const what = tensorNames(specs, [t])[0];
      const values = ArrayBuffer.isView(w) || Array.isArray(w) ? Float32Array.from(w as ArrayLike<number>) : undefined;
      if (values === undefined || values.length !== t.size) throw invalid(where, `weights[${i}]`, `${t.size} numbers (${what})`, w);
      const bad = values.findIndex((v) => !Number.isFinite(v) || (t.kind === 'moving_variance' && v < 0));
      if (bad >= 0) {
        const want = t.kind === 'moving_variance' ? 'finite numbers ≥ 0 (a variance)' : 'finite numbers';
        throw new SimdnetError(`weights[${i}]`, `${where}: weights[${i}] (${what}) must hold ${want}, got ${describeValue(values[bad])} at index ${bad}`);
      }
      return values;
    });
    arrays.forEach((a, i) => backend.f32.set(a, (mem.params >>> 2) + tensors[i].offset));
    this.#weightsSet += 1;
  }

  /** Every weight the model has (what getWeights() returns): the trainable ones and batch normalization's moving statistics. */
  countParams(): number {
    return this.#use('countParams()').mem.layout.total;
  }

  /** A table of the layers, their output shapes and parameter counts. */
  summary(): string {
    const net = this.#use('summary()');
    const { layout } = net.mem;
    const head = ['Layer (type)', 'Output shape', 'Params', 'Activation'];
    const rows = summaryRows(net.specs);
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)) + 2);
    const line = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c])).join('').trimEnd();
    const rule = (ch: string): string => ch.repeat(widths.reduce((a, b) => a + b, 0));
    const fixed = layout.total - layout.count;
    return [
      `Sequential: input [batch, ${this.inputUnits}], backend ${net.backend.name}`,
      rule('_'), line(head), rule('='), ...rows.map(line), rule('='),
      `Total params: ${layout.total}${fixed > 0 ? ` (trainable ${layout.count}, non-trainable ${fixed}: the moving statistics)` : ''}`,
      sparseLine(net),
    ].join('\n');
  }

  /** Frees the model's backend memory and stops its threads; any later use throws. Safe to call twice. */
  dispose(): void {
    this.#net?.backend.dispose();
    this.#net = null;
    this.#compiled = null;
    this.#fitObjects = null;
  }

  /**
   * @internal For tests: one forward and backward pass over all of x, y as one batch, without
   * updating. Returns the loss and the gradients of the trainable tensors, [dW1, db1, (dγ1, dβ1,)
   * dW2, …], read from the gradient region.
   */
  _computeGradients(x: MatrixLike, y: LabelsLike): { loss: number; grads: Float32Array[] } {
    const where = '_computeGradients()';
    const net = this.#use(where);
    const compiled = this.#requireCompiled(where);
    const xs = this.#inputs(where, 'x', x);
    const ys = toLabels(where, 'y', y, xs.rows, this.outputUnits, compiled.loss);
    const totals = new Totals();
    this.#scoped(net, () => {
      const { ptr: xData, nonzero } = uploadRows(net.backend, xs, where, 'x');
      measureInputs(net, nonzero, xs.data.length);
      const yData = upload(net.backend, ys.data);
      const bufs = allocateBatch(net.backend, net.specs, xs.rows, { gather: false, loss: true, backward: true });
      forward(net, xData, xs.rows, bufs, true);
      batchLoss(net, compiled.loss, yData, xs.rows, bufs, totals);
      backward(net, xData, xs.rows, bufs);
    });
    const loss = totals.lastLoss;
    const { backend, mem } = net;
    const grads = trainable(net).map(({ offset, size }) => backend.f32.slice((mem.grads >>> 2) + offset, (mem.grads >>> 2) + offset + size));
    return { loss, grads };
  }

  /**
   * @internal Used by loadModel on a file decodeModel has checked: weights, compile settings,
   * optimizer state and step.
   */
  _restore(file: ModelFile): void {
    const net = this.#use('loadModel()');
    const { mem } = net;
    writeFlat(net, mem.params, file.params);
    if (file.compiled !== null) {
      this.compile(file.compiled);
      const count = mem.layout.count;
      const slots = [mem.state0, mem.state1, mem.state2].slice(0, file.stateSlots);
      slots.forEach((slot, i) => writeFlat(net, slot, file.state.subarray(i * count, (i + 1) * count), true));
      net.step = file.step;
      if (file.lr !== undefined && net.schedule === null) net.lr = file.lr;
    }
    this.metadata = file.metadata;
    if (file.shuffleState !== null) this.#shuffleRng = Random.fromState(file.shuffleState);
  }

  /** A model beyond MODEL_LIMITS could be written but not read back: refuse to write it. */
  #checkLimits(where: string, net: Network): void {
    const sizes = checkSizes(this.inputUnits, net.specs.map((s) => s.units), normWeights(net.specs));
    if ('problem' in sizes) throw new SimdnetError('model', `${where}: the model has ${sizes.problem}, so it could not be loaded again`);
  }

  #use(where: string): Network {
    if (this.#net === null) {
      throw new SimdnetError('model', `${where}: the model has been disposed; build a new one with sequential() or loadModel()`);
    }
    return this.#net;
  }

  #requireCompiled(where: string): Compiled {
    if (this.#compiled === null) {
      throw new SimdnetError('compile', `${where}: the model must be compiled first: call model.compile({ loss, optimizer })`);
    }
    return this.#compiled;
  }

  #inputs(where: string, arg: string, x: unknown): Rows {
    return toMatrix(where, arg, x, this.inputUnits, ` (the model's input features, layers[0].inputShape)`);
  }

  /** Runs body, which streams its inputs in; if it throws (a refused x), the density of the last inputs is as it was. */
  #keepingDensity(net: Network, body: () => void): void {
    const { inputDensity, sparseInput } = net;
    try {
      body();
    } catch (err) {
      net.inputDensity = inputDensity;
      net.sparseInput = sparseInput;
      throw err;
    }
  }

  /** Runs body with per-call allocations freed afterwards, whatever happens. */
  #scoped(net: Network, body: () => void): void {
    const top = net.backend.mark();
    try {
      body();
    } finally {
      net.backend.release(top);
    }
  }

}

/** predict's and evaluate's memory (x, y and the batch buffers) against the backend's limit. */
function checkCallMemory(net: Network, where: string, xs: Rows, ys: Rows | undefined, batchSize: number, needs: BatchNeeds): void {
  const batch = batchBytes(net.specs, Math.min(batchSize, xs.rows), needs);
  const data = allocBytes(xs.data.length) + (ys ? allocBytes(ys.data.length) : 0);
  const parts: MemoryParts = [['for the rows of x' + (ys ? ' and y' : ''), data], ['for the batch buffers', batch]];
  checkMemory(net.backend, where, batch > data ? 'batchSize' : 'x', parts, 'pass fewer rows per call (in slices), or a smaller batchSize');
}

function checkBatchOptions(where: string, options: unknown): number {
  if (!isPlainObject(options)) throw invalid(where, 'options', 'an object such as { batchSize: 256 }', options);
  checkKeys(where, 'options', options, ['batchSize']);
  const batchSize = options.batchSize ?? DEFAULT_EVAL_BATCH;
  if (!isPositiveInteger(batchSize)) throw invalid(where, 'batchSize', 'a positive integer', batchSize);
  return batchSize;
}

/** Metadata must survive JSON: a cycle or a BigInt would otherwise fail half-way through save(). */
function checkJson(where: string, arg: string, value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch (err) {
    throw new SimdnetError(arg, `${where}: ${arg} must be a JSON value, got one that JSON.stringify rejects (${(err as Error).message})`);
  }
}

/** The trainable tensors, in getWeights() order: those with gradients and optimizer state. */
function trainable(net: Network): TensorSlot[] {
  return net.mem.layout.tensors.filter((t) => t.trainable);
}

/** "W2 [64 × 10]", "γ1", "moving variance 1": how messages name tensors. */
function tensorNames(specs: readonly LayerSpec[], tensors: readonly TensorSlot[]): string[] {
  const names = { bias: 'b', gamma: 'γ', beta: 'β', moving_mean: 'moving mean ', moving_variance: 'moving variance ' };
  return tensors.map(({ layer, kind }) => {
    const s = specs[layer];
    return kind === 'kernel' ? `W${layer + 1} [${s.inputUnits} × ${s.units}]` : `${names[kind]}${layer + 1}`;
  });
}

/** summary()'s rows: each dense layer, with its batch normalization and dropout where they are. */
function summaryRows(specs: readonly LayerSpec[]): string[][] {
  let norms = 0;
  return specs.flatMap((s, l) => {
    const shape = `[batch, ${s.units}]`;
    const bn = s.norm === 'none' ? [] : [[
      `batch_normalization_${++norms} (BatchNormalization)`, shape, String(2 * s.units + (s.normScale ? s.units : 0) + (s.normCenter ? s.units : 0)),
      s.norm === 'pre' ? s.activation : '',
    ]];
    return [
      [`dense_${l + 1} (Dense)`, shape, String(s.inputUnits * s.units + s.units), s.norm === 'pre' ? 'linear' : s.activation],
      ...bn,
      ...(s.dropout > 0 ? [[`dropout_${l + 1} (Dropout ${s.dropout})`, shape, '0', '']] : []),
    ];
  });
}

/** summary()'s last line: the sparse-input switch, and what the last call's input density chose. */
function sparseLine(net: Network): string {
  if (net.sparseInputs === false) return 'Sparse inputs: off (first layer always dense)';
  if (Number.isNaN(net.inputDensity)) return `Sparse inputs: auto (first layer sparse at ≤ ${SPARSE_MAX_DENSITY * 100}% nonzero inputs; no inputs seen yet)`;
  const percent = `${(net.inputDensity * 100).toFixed(1)}%`;
  return net.sparseInput
    ? `Sparse inputs: auto; last inputs ${percent} nonzero, so the first layer skips the zeros`
    : `Sparse inputs: auto; last inputs ${percent} nonzero (sparse at ≤ ${SPARSE_MAX_DENSITY * 100}%), so the first layer is dense`;
}
