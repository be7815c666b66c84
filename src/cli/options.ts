/**
 * Command-line options: one table of every option (its value, help, the commands that read it, its
 * check and its default), parsed by commander, so that each command gets its own help and
 * near-miss suggestions, and the commands only ever see checked, typed settings.
 */
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_NAMES, DEFAULT_LEARNING_RATES, LOSS_ALIASES, OPTIMIZER_NAMES, type BackendName, type LossName, type OptimizerName } from '../index.js';
import { lossNamed } from '../losses.js';
import { readPackageJson } from './package-info.js';

export const COMMANDS = ['train', 'evaluate', 'predict', 'bench'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const BUILTIN_DATA = ['mnist', 'spiral', 'moons', 'circles', 'xor'] as const;
export type BuiltinData = (typeof BUILTIN_DATA)[number];

export const HIDDEN_ACTIVATIONS = ['relu', 'leakyRelu', 'tanh', 'sigmoid', 'linear', 'elu', 'selu', 'softplus', 'swish', 'gelu', 'relu6'] as const;
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

export const AUGMENTATIONS = ['shift', 'none'] as const;

export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];
export type Augmentation = (typeof AUGMENTATIONS)[number];

export const DEFAULTS = {
  data: 'mnist',
  hidden: [128, 64],
  activation: 'relu' as HiddenActivation,
  optimizer: 'adam' as OptimizerName,
  dropout: 0.2,
  lrSchedule: 'cosine' as LrSchedule,
  epochs: 10,
  batchSize: 64,
  backend: 'wasm' as BackendName,
  seed: 42,
  validationSplit: 0.1,
  testSplit: 0.2,
};

/** Wrong usage (unknown option, bad value): exit code 2, with a pointer to the command's help. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose help the message points to, when known. */
  command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.command = command;
  }
}

/** One option: shown in help as `--name <value>` under its group, for the commands listed. */
interface OptionSpec<T> {
  /** The value's placeholder in help ('<n>'); absent for a flag, which parses to true. */
  value?: string;
  group: string;
  commands: readonly CommandName[];
  /** The help line; "(default: …)" is added from `default` unless the line says it already. */
  help: string | ((command: CommandName) => string);
  /** Checks the text given and types it, or throws a UsageError naming --name. */
  parse: (name: string, raw: string) => T;
  /** The value when the option is not given. */
  default: T;
}

const option = <T>(spec: OptionSpec<T>): OptionSpec<T> => spec;
const flag = (spec: Pick<OptionSpec<boolean>, 'group' | 'commands' | 'help'>): OptionSpec<boolean> =>
  ({ ...spec, parse: () => true, default: false });

const DATA = 'Data:';
const MODEL = 'Model and training:';
const FILES = 'Files:';
const TRAIN: readonly CommandName[] = ['train'];
const WITH_DATA: readonly CommandName[] = ['train', 'evaluate', 'predict'];
const SAVED_MODEL: readonly CommandName[] = ['evaluate', 'predict'];

/**
 * Every option, by its name in the settings (camelCase; the flag is its kebab-case form). Adding
 * an option is one entry here: its settings field, help line and check follow from it.
 */
export const OPTIONS = {
  data: option<string | undefined>({
    value: '<name|file.csv>', group: DATA, commands: WITH_DATA, parse: nonEmpty, default: undefined,
    help: (command) => `mnist, spiral, moons, circles, xor, or a CSV file with a header (default: ${
      command === 'train' ? DEFAULTS.data : 'the data the model was trained on; its test split if it is that data'})`,
  }),
  label: option<string | undefined>({
    value: '<column>', group: DATA, commands: ['train', 'evaluate'], parse: nonEmpty, default: undefined,
    help: (command) => command === 'train'
      ? 'label column of a CSV (default: its last column): class names or numbers, or a numeric target with --loss mse'
      : 'label column of a CSV (default: the one the model was trained on)',
  }),
  testSplit: option({
    value: '<f>', group: DATA, commands: TRAIN, parse: fraction, default: DEFAULTS.testSplit,
    help: `fraction of the rows held out for the final test (default: ${DEFAULTS.testSplit}; mnist: 8,000 training and 2,000 test digits)`,
  }),
  validationSplit: option({
    value: '<f>', group: DATA, commands: TRAIN, parse: fraction, default: DEFAULTS.validationSplit,
    help: 'fraction of the training rows scored after each epoch',
  }),
  augment: option<Augmentation | undefined>({
    value: `<${AUGMENTATIONS.join('|')}>`, group: DATA, commands: TRAIN, parse: (name, raw) => oneOf(name, raw, AUGMENTATIONS), default: undefined,
    help: 'add copies of each training image moved one pixel in 8 directions (default: shift for mnist, none otherwise)',
  }),
  hidden: option({
    value: '<n,n,...>', group: MODEL, commands: TRAIN, parse: (_name, raw) => parseHidden(raw), default: DEFAULTS.hidden,
    help: 'hidden layer widths, or "none"',
  }),
  activation: option({
    value: '<name>', group: MODEL, commands: TRAIN, parse: (name, raw) => oneOf(name, raw, HIDDEN_ACTIVATIONS), default: DEFAULTS.activation,
    help: `hidden activation: ${HIDDEN_ACTIVATIONS.join(', ')}`,
  }),
  loss: option<LossName | undefined>({
    value: '<name>', group: MODEL, commands: TRAIN, parse: parseLoss, default: undefined,
    help: 'cce (categoricalCrossentropy), bce (binaryCrossentropy) or mse (meanSquaredError) (default: cce, or bce for two classes)',
  }),
  optimizer: option({
    value: '<name>', group: MODEL, commands: TRAIN, parse: (name, raw) => oneOf(name, raw, OPTIMIZER_NAMES), default: DEFAULTS.optimizer,
    help: OPTIMIZER_NAMES.join(', '),
  }),
  lr: option<number | undefined>({
    value: '<x>', group: MODEL, commands: TRAIN, parse: positiveNumber, default: undefined,
    help: `learning rate (default: the optimizer's, twice it with --lr-schedule cosine: adam ${DEFAULT_LEARNING_RATES.adam}, sgd and momentum ${DEFAULT_LEARNING_RATES.sgd})`,
  }),
  lrSchedule: option({
    value: `<${LR_SCHEDULES.join('|')}>`, group: MODEL, commands: TRAIN, parse: (name, raw) => oneOf(name, raw, LR_SCHEDULES), default: DEFAULTS.lrSchedule,
    help: `cosine: decay from --lr to 0 over the run, --lr then defaulting to twice the optimizer's rate (default: ${DEFAULTS.lrSchedule})`,
  }),
  dropout: option({
    value: '<f>', group: MODEL, commands: TRAIN, parse: fraction, default: DEFAULTS.dropout,
    help: 'dropout rate after each hidden layer, 0 for none',
  }),
  batchNorm: flag({
    group: MODEL, commands: TRAIN,
    help: 'a batchNormalization layer in each hidden layer, between its product and its activation',
  }),
  clipNorm: option<number | undefined>({
    value: '<x>', group: MODEL, commands: TRAIN, parse: positiveNumber, default: undefined,
    help: "rescale each step's gradient to this global norm when it is larger (default: none)",
  }),
  epochs: option({
    value: '<n>', group: MODEL, commands: TRAIN, parse: positiveInteger, default: DEFAULTS.epochs,
    help: 'passes over the training rows',
  }),
  batchSize: option({
    value: '<n>', group: MODEL, commands: TRAIN, parse: positiveInteger, default: DEFAULTS.batchSize,
    help: 'rows per gradient step',
  }),
  backend: option({
    value: `<${BACKEND_NAMES.join('|')}>`, group: MODEL, commands: WITH_DATA, parse: (name, raw) => oneOf(name, raw, BACKEND_NAMES), default: DEFAULTS.backend,
    help: 'SIMD WebAssembly or plain JavaScript kernels',
  }),
  relaxedSimd: flag({
    group: MODEL, commands: TRAIN,
    help: 'train on the relaxed-SIMD build (fused multiply-add, about 15% faster; results differ in the last bits)',
  }),
  threads: option<number | 'auto'>({
    value: '<n|auto>', group: MODEL, commands: WITH_DATA,
    parse: (name, raw) => (raw.trim() === 'auto' ? 'auto' : positiveInteger(name, raw)), default: 'auto',
    help: 'threads to train and predict on; the same results on any number (default: auto, the cores available)',
  }),
  seed: option<number | undefined>({
    value: '<n>', group: MODEL, commands: WITH_DATA, parse: seedValue, default: undefined,
    help: (command) => command === 'train'
      ? `seeds the split, the weights and the shuffling (default: ${DEFAULTS.seed})`
      : 'seeds the split and the generated data sets (default: the seed the model was trained with)',
  }),
  save: option<string | undefined>({
    value: '<path>', group: FILES, commands: TRAIN, parse: nonEmpty, default: undefined,
    help: 'write the model (architecture, weights, preprocessing) here',
  }),
  model: option<string | undefined>({
    value: '<path>', group: FILES, commands: SAVED_MODEL, parse: nonEmpty, default: undefined,
    help: 'the model file to read (written by "simdnet train --save")',
  }),
};

type Options = typeof OPTIONS;
type OptionName = keyof Options;

/** Every option checked and typed; the defaults for those not given. */
export type Settings = { command: CommandName } & { [K in OptionName]: Options[K] extends OptionSpec<infer T> ? T : never };

/** What the command line asks for: text to print (help, version) or a command to run. */
export type ParseResult = { kind: 'output'; text: string } | { kind: 'run'; settings: Settings };

const DESCRIPTIONS: Record<CommandName, string> = {
  train: 'train a dense network, report validation per epoch and test scores at the end',
  evaluate: 'loss and accuracy of a saved model (--model) on data',
  predict: 'predictions of a saved model (--model), as CSV on stdout',
  bench: 'run the quick benchmark (from a clone of the source repository)',
};

const EXAMPLES: Record<CommandName | 'simdnet', string[]> = {
  simdnet: [
    'simdnet train                                   # MNIST, 784-128-64-10, Adam, 10 epochs',
    'simdnet train --data spiral --hidden 32 --epochs 50 --save spiral.simdnet',
    'simdnet train --data iris.csv --label species --save iris.simdnet',
    'simdnet evaluate --model iris.simdnet --data iris-test.csv',
    'simdnet predict --model iris.simdnet --data new-flowers.csv > predictions.csv',
  ],
  train: [
    'simdnet train                                   # MNIST, 784-128-64-10, Adam, 10 epochs',
    'simdnet train --data spiral --hidden 32 --epochs 50 --save spiral.simdnet',
    'simdnet train --data houses.csv --label price --loss mse --save houses.simdnet',
  ],
  evaluate: ['simdnet evaluate --model iris.simdnet --data iris-test.csv'],
  predict: ['simdnet predict --model iris.simdnet --data new-flowers.csv > predictions.csv'],
  bench: [],
};

export function parseCommandLine(argv: readonly string[]): ParseResult {
  const output: string[] = [];
  let parsed: { command: CommandName; values: Partial<Record<OptionName, string | true>> } | undefined;
  const program = buildProgram(output, (command, values) => {
    parsed = { command, values };
  });
  if (argv.length === 0) {
    program.outputHelp();
    return { kind: 'output', text: output.join('') };
  }
  const command = commandNamed(argv[0]);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    const shown = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
    if (shown && err.exitCode === 0) return { kind: 'output', text: output.join('') };
    if (shown) {
      // "simdnet help <word>" with a word that is no command.
      throw new UsageError(`unknown command '${argv[1] ?? ''}'; the commands are ${COMMANDS.join(', ')}`);
    }
    throw usageError(err, command, argv);
  }
  if (parsed === undefined) throw new UsageError('no command given', command);
  const settings = settingsFrom(parsed.command, parsed.values);
  checkCombinations(settings);
  return { kind: 'run', settings };
}

/** The command word, when the first argument is one (commander itself reports anything else). */
function commandNamed(word: string | undefined): CommandName | undefined {
  return (COMMANDS as readonly (string | undefined)[]).includes(word) ? (word as CommandName) : undefined;
}

/** The program and one subcommand per command, each with the options it reads; output is captured. */
function buildProgram(output: string[], run: (command: CommandName, values: Record<string, string | true>) => void): Command {
  const program = new Command('simdnet')
    .usage('<command> [options]')
    .description('Train dense neural networks fast on CPUs: SIMD WebAssembly kernels, a TypeScript API.')
    .version(readPackageJson().version ?? 'unknown', '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .showSuggestionAfterError()
    .exitOverride()
    // Help and version are returned as text; errors become UsageErrors, worded by main.
    .configureOutput({ writeOut: (text) => output.push(text), writeErr: () => undefined, outputError: () => undefined })
    .addHelpText('after', `${examples('simdnet')}
Run "simdnet <command> --help" for the options of a command.`);
  for (const command of COMMANDS) {
    const sub = program.command(command).description(DESCRIPTIONS[command]).helpOption('-h, --help', 'show this help');
    for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec<unknown>][]) {
      if (spec.commands.includes(command)) sub.addOption(commanderOption(command, name, spec));
    }
    if (EXAMPLES[command].length > 0) sub.addHelpText('after', examples(command));
    sub.action((values: Record<string, string | true>) => run(command, values));
  }
  return program;
}

function commanderOption(command: CommandName, name: OptionName, spec: OptionSpec<unknown>): Option {
  const help = typeof spec.help === 'function' ? spec.help(command) : spec.help;
  const value = defaultText(spec.default);
  const shown = help.includes('(default:') || value === undefined ? help : `${help} (default: ${value})`;
  const placeholder = spec.value === undefined ? '' : ` ${spec.value}`;
  return new Option(`${flagOf(name)}${placeholder}`, shown).helpGroup(spec.group);
}

/** A default as help shows it; undefined for none (and for a flag, off unless given). */
function defaultText(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

const flagOf = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function examples(command: CommandName | 'simdnet'): string {
  return `\nExamples:\n${EXAMPLES[command].map((line) => `  ${line}`).join('\n')}\n`;
}

/** commander's error, worded as ours: an option of another command is named as such. */
function usageError(err: CommanderError, command: CommandName | undefined, argv: readonly string[]): UsageError {
  if (err.code === 'commander.unknownOption' && command !== undefined) {
    const unknown = /'(--?[^'=]+)/.exec(err.message)?.[1];
    const known = (Object.keys(OPTIONS) as OptionName[]).find((name) => flagOf(name) === unknown);
    if (known !== undefined && OPTIONS[known].commands.includes(command)) {
      return new UsageError(`${unknown} takes no value, got "${/'([^']*)'/.exec(err.message)?.[1]}"`, command);
    }
    if (known !== undefined) return new UsageError(`option ${unknown} does not apply to "simdnet ${command}"`, command);
  }
  if (err.code === 'commander.excessArguments' && command !== undefined) {
    const extra = argv.slice(1).find((arg) => !arg.startsWith('-'));
    return new UsageError(`unexpected argument "${extra ?? ''}" after "${command}" (options start with --)`, command);
  }
  const message = err.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\)$/, ' (did you mean $1)')
    .replace(/\n/g, ' ');
  return new UsageError(message, command);
}

/** Each option given, checked by its own rule; the default for each one not given. */
function settingsFrom(command: CommandName, values: Partial<Record<OptionName, string | true>>): Settings {
  const settings: Record<string, unknown> = { command };
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec<unknown>][]) {
    const raw = values[name];
    try {
      settings[name] = raw === undefined ? spec.default : spec.parse(flagOf(name).slice(2), raw === true ? '' : raw);
    } catch (err) {
      if (err instanceof UsageError) err.command = command;
      throw err;
    }
  }
  return settings as Settings;
}

/** Values that are each valid but do not go together. */
function checkCombinations(settings: Settings): void {
  const { command } = settings;
  if (settings.validationSplit + settings.testSplit >= 1) {
    throw new UsageError(
      `--validation-split + --test-split must leave rows to train on (sum < 1), got ` +
        `${settings.validationSplit} + ${settings.testSplit}`,
      command,
    );
  }
  if (settings.relaxedSimd && settings.backend !== 'wasm') {
    throw new UsageError('--relaxed-simd selects a build of the wasm kernels; it does not apply to --backend js', command);
  }
  if ((command === 'evaluate' || command === 'predict') && settings.model === undefined) {
    throw new UsageError(`"simdnet ${command}" needs --model <path> (a file written by "simdnet train --save")`, command);
  }
}

function nonEmpty(name: string, raw: string): string {
  if (raw.trim() === '') throw new UsageError(`--${name} needs a value, got an empty string`);
  return raw;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** A loss by the library's name or alias; the list in the message starts with cce, the default for classes. */
function parseLoss(_name: string, raw: string): LossName {
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

function fraction(name: string, raw: string): number {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!(value >= 0 && value < 1)) {
    throw new UsageError(`--${name} must be a fraction in [0, 1), got "${raw}"`);
  }
  return value;
}

function seedValue(_name: string, raw: string): number {
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
