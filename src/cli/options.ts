/**
 * Command-line options: parsing (node's util.parseArgs), defaults, help text, and validation of
 * every value into a typed settings object, so the commands never see a raw string.
 */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, DEFAULT_LEARNING_RATES, LOSS_ALIASES, OPTIMIZER_NAMES, type BackendName, type LossName, type OptimizerName } from '../index.js';
import { lossNamed } from '../losses.js';

export const COMMANDS = ['train', 'evaluate', 'predict', 'bench'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const BUILTIN_DATA = ['mnist', 'spiral', 'moons', 'circles', 'xor'] as const;
export type BuiltinData = (typeof BUILTIN_DATA)[number];

export const HIDDEN_ACTIVATIONS = ['relu', 'leakyRelu', 'tanh', 'sigmoid', 'linear'] as const;
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

export const AUGMENTATIONS = ['shift', 'none'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

export const DEFAULTS = {
  data: 'mnist',
  hidden: [128, 64],
  activation: 'relu' as HiddenActivation,
  optimizer: 'adam' as OptimizerName,
  epochs: 10,
  batchSize: 64,
  backend: 'wasm' as BackendName,
  threads: 'auto' as number | 'auto',
  seed: 42,
  validationSplit: 0.1,
  testSplit: 0.2,
};

/** Wrong usage (unknown option, bad value): exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Settings {
  command: CommandName;
  /** 'mnist' | 'spiral' | … or a CSV path; undefined when not given (evaluate/predict fall back to the model's). */
  data: string | undefined;
  label: string | undefined;
  hidden: number[];
  activation: HiddenActivation;
  /** undefined: chosen from the data (cross-entropy for classes, see resolveLoss). */
  loss: LossName | undefined;
  optimizer: OptimizerName;
  /** undefined: the optimizer's default. */
  lr: number | undefined;
  epochs: number;
  batchSize: number;
  backend: BackendName;
  /** train: the relaxed-SIMD (FMA) build of the wasm kernels. */
  relaxedSimd: boolean;
  threads: number | 'auto';
  /** undefined: DEFAULTS.seed for train, the model's training seed for evaluate/predict. */
  seed: number | undefined;
  validationSplit: number;
  testSplit: number;
  /** undefined: 'shift' for mnist, 'none' otherwise. */
  augment: Augmentation | undefined;
  save: string | undefined;
  model: string | undefined;
}

export type ParseResult =
  | { kind: 'help'; command: CommandName | undefined }
  | { kind: 'version' }
  | { kind: 'run'; settings: Settings };

const OPTION_SPEC = {
  data: { type: 'string' },
  label: { type: 'string' },
  hidden: { type: 'string' },
  activation: { type: 'string' },
  loss: { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  backend: { type: 'string' },
  'relaxed-simd': { type: 'boolean' },
  threads: { type: 'string' },
  seed: { type: 'string' },
  'validation-split': { type: 'string' },
  'test-split': { type: 'string' },
  augment: { type: 'string' },
  save: { type: 'string' },
  model: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type OptionName = keyof typeof OPTION_SPEC;

/** Which options each command reads; anything else is refused rather than silently ignored. */
const ACCEPTED: Record<CommandName, readonly OptionName[]> = {
  train: [
    'data', 'label', 'hidden', 'activation', 'loss', 'optimizer', 'lr', 'epochs', 'batch-size',
    'backend', 'relaxed-simd', 'threads', 'seed', 'validation-split', 'test-split', 'augment', 'save',
  ],
  evaluate: ['data', 'label', 'backend', 'threads', 'seed', 'batch-size', 'model'],
  predict: ['data', 'backend', 'threads', 'seed', 'model'],
  bench: [],
};

export function parseCommandLine(argv: readonly string[]): ParseResult {
  const { values, positionals } = parseOptions(argv);
  const [commandWord, ...extra] = positionals;
  const command = commandNamed(commandWord);
  if (values.version) return { kind: 'version' };
  if (values.help || command === undefined) return { kind: 'help', command };
  if (extra.length > 0) {
    throw new UsageError(`unexpected argument "${extra[0]}" after "${command}" (options start with --)`);
  }
  checkOptionsApply(command, values);
  const settings = settingsFrom(command, values);
  checkCombinations(settings);
  return { kind: 'run', settings };
}

/** node's parseArgs, its errors turned into usage errors. */
function parseOptions(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTION_SPEC, strict: true, allowPositionals: true });
  } catch (err) {
    // parseArgs' own messages are clear; make them ours so main prints them as usage errors.
    throw new UsageError((err as Error).message.replace(/\n/g, ' '));
  }
}

type OptionValues = ReturnType<typeof parseOptions>['values'];

function commandNamed(word: string | undefined): CommandName | undefined {
  if (word === undefined) return undefined;
  if (!(COMMANDS as readonly string[]).includes(word)) {
    throw new UsageError(`unknown command "${word}"; expected one of ${COMMANDS.join(', ')}`);
  }
  return word as CommandName;
}

function checkOptionsApply(command: CommandName, values: OptionValues): void {
  for (const name of Object.keys(values) as OptionName[]) {
    if (name === 'help' || name === 'version') continue;
    if (!ACCEPTED[command].includes(name)) {
      throw new UsageError(`option --${name} does not apply to "simdnet ${command}"`);
    }
  }
}

/** Every option checked and typed, in the order listed here; the defaults for those not given. */
function settingsFrom(command: CommandName, values: OptionValues): Settings {
  const optimizer = oneOf('optimizer', values.optimizer, OPTIMIZER_NAMES) ?? DEFAULTS.optimizer;
  return {
    command,
    data: values.data === undefined ? (command === 'train' ? DEFAULTS.data : undefined) : nonEmpty('data', values.data),
    label: values.label === undefined ? undefined : nonEmpty('label', values.label),
    hidden: values.hidden === undefined ? DEFAULTS.hidden : parseHidden(values.hidden),
    activation: oneOf('activation', values.activation, HIDDEN_ACTIVATIONS) ?? DEFAULTS.activation,
    loss: parseLoss(values.loss),
    optimizer,
    lr: values.lr === undefined ? undefined : positiveNumber('lr', values.lr),
    epochs: values.epochs === undefined ? DEFAULTS.epochs : positiveInteger('epochs', values.epochs),
    batchSize:
      values['batch-size'] === undefined ? DEFAULTS.batchSize : positiveInteger('batch-size', values['batch-size']),
    backend: oneOf('backend', values.backend, BACKEND_NAMES) ?? DEFAULTS.backend,
    relaxedSimd: values['relaxed-simd'] ?? false,
    threads: values.threads === undefined || values.threads.trim() === 'auto' ? DEFAULTS.threads : positiveInteger('threads', values.threads),
    seed: values.seed === undefined ? undefined : seedValue(values.seed),
    validationSplit:
      values['validation-split'] === undefined
        ? DEFAULTS.validationSplit
        : fraction('validation-split', values['validation-split'], true),
    testSplit:
      values['test-split'] === undefined ? DEFAULTS.testSplit : fraction('test-split', values['test-split'], true),
    augment: oneOf('augment', values.augment, AUGMENTATIONS),
    save: values.save === undefined ? undefined : nonEmpty('save', values.save),
    model: values.model === undefined ? undefined : nonEmpty('model', values.model),
  };
}

/** Values that are each valid but do not go together. */
function checkCombinations(settings: Settings): void {
  if (settings.validationSplit + settings.testSplit >= 1) {
    throw new UsageError(
      `--validation-split + --test-split must leave rows to train on (sum < 1), got ` +
        `${settings.validationSplit} + ${settings.testSplit}`,
    );
  }
  if (settings.relaxedSimd && settings.backend !== 'wasm') {
    throw new UsageError('--relaxed-simd selects a build of the wasm kernels; it does not apply to --backend js');
  }
  const { command } = settings;
  if ((command === 'evaluate' || command === 'predict') && settings.model === undefined) {
    throw new UsageError(`"simdnet ${command}" needs --model <path> (a file written by "simdnet train --save")`);
  }
}

function nonEmpty(name: string, raw: string): string {
  if (raw.trim() === '') throw new UsageError(`--${name} needs a value, got an empty string`);
  return raw;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** A loss by the library's name or alias; the list in the message starts with cce, the default for classes. */
function parseLoss(raw: string | undefined): LossName | undefined {
  if (raw === undefined) return undefined;
  const loss = lossNamed(raw);
  if (loss === undefined) {
    const aliases = Object.keys(LOSS_ALIASES) as (keyof typeof LOSS_ALIASES)[];
    const listed = ['cce' as const, ...aliases.filter((alias) => alias !== 'cce')].map(
      (alias) => `${LOSS_ALIASES[alias]} (${alias})`,
    );
    throw new UsageError(`--loss must be one of ${listed.join(', ')}, got "${raw}"`);
  }
  return loss;
}

// Decimal notation only: Number() would also take '', '0x10' and 'Infinity'.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function positiveNumber(name: string, raw: string): number {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`--${name} must be a positive number, got "${raw}"`);
  }
  return value;
}

function positiveInteger(name: string, raw: string): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function fraction(name: string, raw: string, allowZero: boolean): number {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!(value >= 0 && value < 1) || (!allowZero && value === 0)) {
    throw new UsageError(`--${name} must be a fraction in [0, 1), got "${raw}"`);
  }
  return value;
}

function seedValue(raw: string): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value > 0xffffffff) {
    throw new UsageError(`--seed must be an integer from 0 to 4294967295, got "${raw}"`);
  }
  return value;
}

/** "128,64" → [128, 64]; "" or "none" → no hidden layer (a linear or logistic model). */
function parseHidden(raw: string): number[] {
  const text = raw.trim();
  if (text === '' || text === 'none') return [];
  return text.split(',').map((part) => {
    const units = /^\d+$/.test(part.trim()) ? Number(part) : NaN;
    if (!Number.isSafeInteger(units) || units < 1) {
      throw new UsageError(
        `--hidden must be comma-separated positive layer widths such as 128,64 (or "none"), got "${raw}"`,
      );
    }
    return units;
  });
}

export function helpText(command?: CommandName): string {
  const d = DEFAULTS;
  const lines = [
    'Usage: simdnet <command> [options]',
    '',
    'Commands:',
    '  train      train a dense network, report validation per epoch and test accuracy at the end',
    '  evaluate   loss and accuracy of a saved model (--model) on data',
    '  predict    predictions of a saved model (--model), as CSV on stdout',
    '  bench      run the quick benchmark (npm run bench:quick)',
    '',
    'Data:',
    `  --data <name|file.csv>    mnist, spiral, moons, circles, xor, or a CSV file with a header (default: ${d.data})`,
    '  --label <column>          label column of a CSV (default: its last column); class names or',
    '                            numbers, or numeric targets (regression) with --loss mse',
    `  --test-split <f>          fraction held out for the final test (default: ${d.testSplit};`,
    '                            mnist: 8,000 training and 2,000 test digits)',
    `  --validation-split <f>    fraction of the training rows scored after each epoch (default: ${d.validationSplit})`,
    '  --augment shift|none      add copies of each training image moved one pixel in 8 directions',
    '                            (default: shift for mnist, none otherwise)',
    '',
    'Model and training:',
    `  --hidden <n,n,...>        hidden layer widths, or "none" (default: ${d.hidden.join(',')})`,
    `  --activation <name>       hidden activation: ${HIDDEN_ACTIVATIONS.join(', ')} (default: ${d.activation})`,
    '  --loss <name>             cce (categoricalCrossentropy), bce (binaryCrossentropy) or mse',
    '                            (meanSquaredError) (default: cce, or bce for two classes)',
    `  --optimizer <name>        ${OPTIMIZER_NAMES.join(', ')} (default: ${d.optimizer})`,
    `  --lr <x>                  learning rate (default: the optimizer's: adam ${DEFAULT_LEARNING_RATES.adam},` +
      ` sgd and momentum ${DEFAULT_LEARNING_RATES.sgd})`,
    `  --epochs <n>              passes over the training rows (default: ${d.epochs})`,
    `  --batch-size <n>          rows per gradient step (default: ${d.batchSize})`,
    `  --backend wasm|js         SIMD WebAssembly or plain JavaScript kernels (default: ${d.backend})`,
    '  --relaxed-simd            train on the relaxed-SIMD build (fused multiply-add, about 15% faster;',
    '                            results differ in the last bits); sets the V8 flag Node 20 needs',
    '  --threads <n>|auto        threads to train and predict on; the same results on any number',
    '                            (default: auto, the cores available)',
    `  --seed <n>                seeds the split, the weights and the shuffling (default: ${d.seed};`,
    '                            evaluate and predict: the seed the model was trained with)',
    '',
    'Files:',
    '  --save <path>             train: write the model (architecture, weights, preprocessing) here',
    '  --model <path>            evaluate, predict: the model file to read',
    '',
    '  -h, --help                show this help',
    '  -v, --version             show the version',
    '',
    'Examples:',
    '  simdnet train                                   # MNIST, 784-128-64-10, Adam, 10 epochs',
    '  simdnet train --data spiral --hidden 32 --epochs 50 --save spiral.simdnet',
    '  simdnet train --data iris.csv --label species --save iris.simdnet',
    '  simdnet evaluate --model iris.simdnet --data iris-test.csv',
    '  simdnet predict --model iris.simdnet --data new-flowers.csv > predictions.csv',
  ];
  if (command !== undefined && command !== 'bench') {
    lines.push('', `Options read by "${command}": ${ACCEPTED[command].map((o) => `--${o}`).join(' ')}`);
  }
  return lines.join('\n');
}
