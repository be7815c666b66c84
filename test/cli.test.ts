/**
 * The `simdnet` command end to end, as a user runs it: the built dist/cli/main.js in a child
 * process with stdout a pipe. Small seeded data (xor) and the CSV files in test/fixtures/.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProgress } from '../src/cli/progress.js';
import { dense, sequential } from '../src/index.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = join(repo, 'dist/cli/main.js');
const fixture = (name: string): string => join(repo, 'test/fixtures', name);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function simdnet(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The percentage on a line such as "test accuracy 97.50%" or "accuracy 97.50% (78/80)". */
function percentAfter(text: string, label: RegExp): number {
  const match = new RegExp(`${label.source} (\\d+\\.\\d+)%`).exec(text);
  if (match === null) throw new Error(`no "${label.source} N%" in:\n${text}`);
  return Number(match[1]);
}

/** Rows of a CSV printed by predict, header dropped. */
function csvRows(stdout: string): string[][] {
  return stdout.trim().split('\n').slice(1).map((line) => line.split(','));
}

let dir: string;

beforeAll(async () => {
  // Tests run the build as shipped; they never rebuild (other test files read dist/ too).
  if (!existsSync(cli)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const built = statSync(cli).mtimeMs;
  const sources = readdirSync(join(repo, 'src/cli')).map((f) => statSync(join(repo, 'src/cli', f)).mtimeMs);
  if (Math.max(...sources) > built) throw new Error('dist/cli is older than src/cli: run `npm run build:ts` first');
  dir = await mkdtemp(join(tmpdir(), 'simdnet-cli-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('simdnet --help', () => {
  test('lists every option with its default', async () => {
    const { code, stdout } = await simdnet(['--help']);
    expect(code).toBe(0);
    for (const option of [
      '--data', '--label', '--hidden', '--activation', '--loss', '--optimizer', '--lr', '--epochs',
      '--batch-size', '--backend', '--relaxed-simd', '--seed', '--save', '--model',
    ]) {
      expect(stdout).toContain(option);
    }
    for (const command of ['train', 'evaluate', 'predict', 'bench']) expect(stdout).toContain(command);
    expect(stdout).toContain('(default: mnist)');
    expect(stdout).toContain('(default: 128,64)');
    expect(stdout).toContain('(default: adam)');
    expect(stdout).toContain('(default: 10)');
  });
});

describe('MNIST', () => {
  test('8,000 training and 2,000 test digits, and the accuracy target named', async () => {
    // One short epoch without augmentation: this checks the wiring, not the accuracy (`npm start` does).
    const run = await simdnet(['train', '--epochs', '1', '--augment', 'none', '--hidden', '16']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('10,000 rows → 7,200 train, 800 validation, 2,000 test (seed 42)');
    expect(run.stdout).toContain('784-16-10, relu/softmax, categorical cross-entropy, adam lr 0.001, batch 64');
    expect(run.stdout).toMatch(/test accuracy \d+\.\d+% \(target ≥ 96%: (reached|NOT reached)\)/);
  });
});

describe('--relaxed-simd', () => {
  test('trains on the relaxed-SIMD build, turning on the engine flag it needs', async () => {
    const run = await simdnet(['train', '--data', 'xor', '--hidden', '16', '--epochs', '30', '--lr', '0.01', '--batch-size', '16', '--relaxed-simd']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('backend wasm (relaxed SIMD)');
    expect(percentAfter(run.stdout, /test accuracy/)).toBeGreaterThan(90);
  });
});

describe('--threads', () => {
  test('trains on the threads asked for (the same results as on one), and the progress says how many', async () => {
    const args = ['train', '--data', 'xor', '--hidden', '16', '--epochs', '3', '--batch-size', '16'];
    const one = await simdnet([...args, '--threads', '1']);
    const two = await simdnet([...args, '--threads', '2']);
    expect(two.stderr).toBe('');
    expect(two.code).toBe(0);
    expect(two.stdout).toMatch(/samples\/s on 2 threads/);
    expect(one.stdout).not.toMatch(/on \d+ threads/);
    const losses = (out: string): string[] => out.match(/loss \d+\.\d+/g) ?? [];
    expect(losses(two.stdout)).toEqual(losses(one.stdout));
    const bad = await simdnet([...args, '--threads', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--threads must be a positive integer/);
  });
});

describe('built-in data: train, save, evaluate, predict', () => {
  let model: string;
  let trained: Run;

  beforeAll(async () => {
    model = join(dir, 'xor.simdnet');
    trained = await simdnet([
      'train', '--data', 'xor', '--hidden', '16', '--epochs', '30', '--lr', '0.01', '--batch-size', '16',
      '--backend', 'js', '--seed', '3', '--save', model,
    ]);
  });

  test('trains to a high test accuracy, one plain line per epoch', () => {
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    const epochLines = trained.stdout.split('\n').filter((l) => /^epoch +\d+\/30 {2}loss /.test(l));
    expect(epochLines).toHaveLength(30);
    expect(epochLines[29]).toMatch(/val_loss \d+\.\d+ {2}val_acc \d+\.\d+%/);
    expect(epochLines[29]).toMatch(/samples\/s/);
    // Not a terminal: no bar redraws.
    expect(trained.stdout).not.toContain('\r');
    expect(trained.stdout).not.toContain('\u001b[');
    expect(percentAfter(trained.stdout, /test accuracy/)).toBeGreaterThanOrEqual(90);
    expect(trained.stdout).toMatch(/wall time \d+\.\d s/);
    expect(existsSync(model)).toBe(true);
  });

  test('evaluate reads the model back and scores the same test rows the same', async () => {
    const run = await simdnet(['evaluate', '--model', model, '--backend', 'wasm']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('test split of xor');
    expect(percentAfter(run.stdout, /accuracy/)).toBe(percentAfter(trained.stdout, /test accuracy/));
  });

  test('predict gives the same classes on both backends', async () => {
    const wasm = await simdnet(['predict', '--model', model, '--backend', 'wasm']);
    const js = await simdnet(['predict', '--model', model, '--backend', 'js']);
    expect(wasm.code).toBe(0);
    expect(js.code).toBe(0);
    expect(wasm.stdout.split('\n')[0]).toBe('prediction,probability');
    const a = csvRows(wasm.stdout);
    const b = csvRows(js.stdout);
    expect(a.length).toBeGreaterThan(10);
    expect(a.map((r) => r[0])).toEqual(b.map((r) => r[0]));
    for (const [i, row] of a.entries()) expect(Number(row[1])).toBeCloseTo(Number(b[i][1]), 4);
  });
});

describe('CSV data: train, save, evaluate, predict', () => {
  test('classes by name, features on different scales', async () => {
    const model = join(dir, 'flowers.simdnet');
    const train = await simdnet([
      'train', '--data', fixture('flowers.csv'), '--label', 'species', '--hidden', '8', '--epochs', '40',
      '--lr', '0.01', '--batch-size', '8', '--save', model,
    ]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toContain('3 features, 3 classes');
    const trainAccuracy = percentAfter(train.stdout, /test accuracy/);
    expect(trainAccuracy).toBeGreaterThanOrEqual(90);

    // The training file again: its held-out test rows, scored as train scored them.
    const again = await simdnet(['evaluate', '--model', model, '--data', fixture('flowers.csv')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('test split');
    expect(percentAfter(again.stdout, /accuracy/)).toBe(trainAccuracy);

    // Predictions use the saved standardisation: raw rows in, class names out.
    const predicted = await simdnet(['predict', '--model', model, '--data', fixture('flowers.csv')]);
    expect(predicted.code).toBe(0);
    const rows = csvRows(predicted.stdout);
    const labels = readFileSync(fixture('flowers.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[3]);
    expect(rows).toHaveLength(labels.length);
    const correct = rows.filter((r, i) => r[0] === labels[i]).length;
    expect(correct / labels.length).toBeGreaterThanOrEqual(0.9);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['setosa', 'versicolor', 'virginica']));
  });

  test('a file without the model\'s columns or with an unknown class is refused', async () => {
    const model = join(dir, 'flowers-small.simdnet');
    const train = await simdnet([
      'train', '--data', fixture('flowers.csv'), '--label', 'species', '--hidden', '4', '--epochs', '1', '--save', model,
    ]);
    expect(train.code).toBe(0);
    const noLabel = await simdnet(['evaluate', '--model', model, '--data', fixture('missing-label.csv')]);
    expect(noLabel.code).toBe(1);
    expect(noLabel.stderr).toMatch(/missing-label\.csv:1: no label column "species"/);
    const otherClass = await simdnet([
      'evaluate', '--model', model, '--data', fixture('missing-label.csv'), '--label', 'kind', '--backend', 'js',
    ]);
    expect(otherClass.code).toBe(0);
    const noFeature = await simdnet(['predict', '--model', model, '--data', fixture('houses.csv')]);
    expect(noFeature.code).toBe(1);
    expect(noFeature.stderr).toMatch(/houses\.csv:1: no feature column "length"; the header has "rooms", "age", "garden", "price"/);
  });

  test('a numeric target with --loss mse is a regression', async () => {
    const model = join(dir, 'houses.simdnet');
    const train = await simdnet([
      'train', '--data', fixture('houses.csv'), '--loss', 'mse', '--hidden', '16', '--epochs', '60',
      '--lr', '0.01', '--batch-size', '16', '--save', model,
    ]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toContain('target "price"');
    const r2 = Number(/r² (-?\d+\.\d+)/.exec(train.stdout)?.[1]);
    expect(r2).toBeGreaterThan(0.9);

    const predicted = await simdnet(['predict', '--model', model, '--data', fixture('houses.csv')]);
    expect(predicted.code).toBe(0);
    const rows = csvRows(predicted.stdout);
    const prices = readFileSync(fixture('houses.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[3]));
    expect(rows).toHaveLength(prices.length);
    // Predictions come back in the target's own units (tens), not standardised ones.
    const meanError = rows.reduce((s, r, i) => s + Math.abs(Number(r[0]) - prices[i]), 0) / rows.length;
    expect(meanError).toBeLessThan(2);
  });
});

// Each case is its own short process: run them side by side.
describe.concurrent('malformed input fails with file, line and column, and writes nothing', () => {
  test.for<[string, string, string[], RegExp]>([
    ['ragged rows', 'ragged.csv', [], /ragged\.csv:4:3: row has 2 fields, the header has 4; column 3 \("height"\) is missing/],
    ['a non-numeric feature', 'non-numeric.csv', [], /non-numeric\.csv:3:2: feature column "width" must be a number, got "n\/a"/],
    ['an empty file', 'empty.csv', [], /empty\.csv:1:1: the file is empty/],
    ['a missing label column', 'missing-label.csv', ['--label', 'species'], /missing-label\.csv:1: no label column "species"; the header has "length", "width", "height", "kind"/],
  ])('%s', async ([, file, extra, message], { expect }) => {
    const save = join(dir, `${file}.simdnet`);
    const run = await simdnet(['train', '--data', fixture(file), ...extra, '--epochs', '1', '--save', save]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).not.toContain('epoch');
    expect(existsSync(save)).toBe(false);
  });

  test('a missing file', async ({ expect }) => {
    const run = await simdnet(['train', '--data', join(dir, 'nowhere.csv')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/nowhere\.csv: cannot read the data file \(no such file\)/);
  });

  test('a model saved by the library, without the command line\'s metadata', async ({ expect }) => {
    const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [2] })], backend: 'js' });
    const path = join(dir, 'bare.simdnet');
    writeFileSync(path, model.save());
    model.dispose();
    const run = await simdnet(['predict', '--model', path, '--data', 'xor']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bare\.simdnet: this model has no command-line metadata/);
  });

  test('a file that is not a model', async ({ expect }) => {
    const run = await simdnet(['evaluate', '--model', fixture('flowers.csv')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/flowers\.csv: not a readable simdnet model/);
  });
});

describe('progress display', () => {
  function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream: Object.assign(sink, { isTTY, columns: 120 }) as unknown as NodeJS.WriteStream, text: () => text };
  }

  function simulate(stream: NodeJS.WriteStream): void {
    const progress = createProgress({ epochs: 2, samplesPerEpoch: 100, accuracy: true, stream });
    for (let epoch = 0; epoch < 2; epoch++) {
      progress.epochStart(epoch);
      for (let done = 10; done <= 100; done += 10) progress.batchEnd(done, { loss: 0.5, acc: 0.8 });
      progress.epochEnd(epoch, { loss: 0.5, acc: 0.8, val_loss: 0.4, val_acc: 0.9 });
    }
    progress.stop();
  }

  test('a terminal gets a bar per epoch, then the epoch line', () => {
    const { stream, text } = capture(true);
    simulate(stream);
    expect(text()).toContain('\u001b[');
    expect(text()).toMatch(/epoch 1\/2 \S*█+\S* 100% \| 100\/100 \| loss 0\.5000 \| acc 80\.00%/);
    expect(text()).toMatch(/epoch 2\/2 {2}loss 0\.5000 {2}acc 80\.00% {2}val_loss 0\.4000 {2}val_acc 90\.00%/);
  });

  test('a pipe gets plain lines only', () => {
    const { stream, text } = capture(false);
    simulate(stream);
    expect(text()).not.toMatch(/[\r\u001b█░]/);
    expect(text().trim().split('\n')).toEqual([
      expect.stringMatching(/^epoch 1\/2 {2}loss 0\.5000 {2}acc 80\.00% {2}val_loss 0\.4000 {2}val_acc 90\.00% {2}[\d,]+ samples\/s {2}\d+\.\d s$/),
      expect.stringMatching(/^epoch 2\/2 {2}loss 0\.5000/),
    ]);
  });
});

describe.concurrent('wrong usage exits with 2 and says what was expected', () => {
  test.for<[string[], RegExp]>([
    [['train', '--optimizer', 'rmsprop'], /--optimizer must be one of sgd, momentum, adam, got "rmsprop"/],
    [['train', '--epochs', '0'], /--epochs must be a positive integer, got "0"/],
    [['train', '--lr', 'fast'], /--lr must be a positive number, got "fast"/],
    [['train', '--hidden', '128,x'], /--hidden must be comma-separated positive layer widths/],
    [['train', '--backend', 'gpu'], /--backend must be one of wasm, js, got "gpu"/],
    [['train', '--loss', 'hinge'], /--loss must be one of categoricalCrossentropy/],
    [['train', '--data', 'iris'], /--data must be mnist, spiral, moons, circles, xor or a CSV file, got "iris" \(no such file\)/],
    [['train', '--data', 'xor', '--label', 'y'], /--label names a column of a CSV file; xor has no columns/],
    [['train', '--colour'], /Unknown option '--colour'/],
    [['evaluate'], /needs --model <path>/],
    [['evaluate', '--model', 'm', '--epochs', '3'], /option --epochs does not apply to "simdnet evaluate"/],
    [['train', '--relaxed-simd', '--backend', 'js'], /--relaxed-simd selects a build of the wasm kernels; it does not apply to --backend js/],
    [['evaluate', '--model', 'm', '--relaxed-simd'], /option --relaxed-simd does not apply to "simdnet evaluate"/],
    [['fly'], /unknown command "fly"/],
  ])('%j', async ([args, message], { expect }) => {
    const run = await simdnet(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('simdnet --help');
  });
});
