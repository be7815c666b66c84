/** simdnet's public API (the contract is docs/API.md). */
export { sequential, Sequential } from './model.js';
export type {
  SequentialConfig, CompileConfig, Prediction, Evaluation, BatchOptions, SaveOptions, LoadOptions,
} from './model.js';
export { loadModel, fromTfjs } from './load.js';
export type { FromTfjsOptions } from './load.js';
export type { BytesLike } from './io/bytes.js';
export { MODEL_LIMITS } from './io/limits.js';
export type { ModelLimits } from './io/limits.js';
export type { TfjsModel, TfjsModelJson, TfjsLayerJson, TfjsWeightSpec } from './io/tfjs.js';
export { dense, dropout, activation, batchNormalization } from './layers.js';
export type {
  DenseConfig, DenseLayer, KernelInitializer, KernelRegularizer, DropoutConfig, DropoutLayer, ActivationConfig, ActivationLayer,
  BatchNormalizationConfig, BatchNormalizationLayer, Layer, LayerConfig,
} from './layers.js';
export { LOSS_NAMES, LOSS_ALIASES } from './losses.js';
export type { LossName, LossAlias } from './losses.js';
export type { MetricName } from './metrics.js';
export { OPTIMIZER_NAMES, DEFAULT_LEARNING_RATES } from './optimizers.js';
export type {
  OptimizerConfig, OptimizerName, SgdConfig, MomentumConfig, AdamConfig, AdamwConfig, RmspropConfig, AdagradConfig, ClipConfig, Optimizer,
} from './optimizers.js';
export { SCHEDULE_NAMES, learningRateAt } from './schedules.js';
export type { LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, CosineDecay, Schedule, ScheduleName } from './schedules.js';
export type { ReduceLROnPlateauOptions } from './training/reduce-lr.js';
export { SPARSE_MAX_DENSITY } from './network.js';
export type { SparseInputs } from './network.js';
export type { FitOptions } from './training/options.js';
export type { History, Logs, Callbacks } from './training/logs.js';
export type { EarlyStoppingOptions } from './training/early-stopping.js';
export type { CheckpointOptions, CheckpointInfo } from './training/checkpoint.js';
export type { MonitorName } from './training/monitor.js';
export type { MatrixLike, LabelsLike } from './data.js';
export { SimdnetError } from './errors.js';
export { NonFiniteError } from './training/guard.js';
export type { NonFiniteQuantity } from './training/guard.js';
export { spiral, moons, circles, xor } from './datasets.js';
export type { Dataset } from './datasets.js';
export { createBackend, wasmSimdSupported, wasmRelaxedSimdSupported, ACTIVATION, ACTIVATION_NAMES, BACKEND_NAMES } from './backend/index.js';
export type { Backend, BackendName, BackendOptions, ActivationName, ActivationCode, Ptr } from './backend/index.js';
