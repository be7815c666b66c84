/**
 * The `simdnet` command end to end, as a user runs it: the built dist/cli/main.js in a child
 * process with stdout a pipe. Small seeded data (xor) and the CSV files in test/fixtures/.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

function simdnet(args: string[], cwd = repo): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
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

describe('help', () => {
  test('simdnet --help lists the commands and points to their help', async () => {
    const { code, stdout } = await simdnet(['--help']);
    expect(code).toBe(0);
    for (const command of ['train', 'evaluate', 'predict', 'bench', 'help [command]']) expect(stdout).toContain(command);
    expect(stdout).toContain('Run "simdnet <command> --help" for the options of a command.');
    expect((await simdnet([])).stdout).toBe(stdout);
  });

  test('simdnet train --help lists every option of train with its default, and no other', async () => {
    const { code, stdout } = await simdnet(['train', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: simdnet train \[options\]/);
    for (const option of [
      '--data', '--label', '--hidden', '--activation', '--loss', '--optimizer', '--lr', '--epochs',
      '--batch-size', '--backend', '--relaxed-simd', '--seed', '--save', '--test-split', '--validation-split', '--augment',
    ]) {
      expect(stdout).toContain(option);
    }
    expect(stdout).not.toMatch(/^ +--model /m);
    const flat = stdout.replace(/\s+/g, ' ');
    for (const text of ['(default: mnist)', '(default: 128,64)', '(default: adam)', '(default: 10)', '(default: 64)', '(default: 42)']) {
      expect(flat).toContain(text);
    }
    expect((await simdnet(['help', 'train'])).stdout).toBe(stdout);
  });

  test('simdnet evaluate --help lists what evaluate reads', async () => {
    const { code, stdout } = await simdnet(['help', 'evaluate']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: simdnet evaluate \[options\]/);
    for (const option of ['--model', '--data', '--label', '--backend', '--seed']) expect(stdout).toContain(option);
    for (const option of ['--epochs', '--save', '--hidden']) expect(stdout).not.toMatch(new RegExp(`^ +${option} `, 'm'));
  });
});

describe('MNIST', () => {
  test('8,000 training and 2,000 test digits, and the accuracy target named', async () => {
    // One short epoch without augmentation: this checks the wiring, not the accuracy (`npm start` does).
    const run = await simdnet(['train', '--epochs', '1', '--augment', 'none', '--hidden', '16']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('10,000 rows → 7,200 train, 800 validation, 2,000 test (seed 42)');
    expect(run.stdout).toContain('784-16-10, relu/softmax, categorical cross-entropy, adam lr 0.002 (cosine decay), dropout 0.2, batch 64');
    expect(run.stdout).toMatch(/test accuracy \d+\.\d+% \(target ≥ 97\.5%: (reached|NOT reached)\)/);
  });
});

describe('--batch-norm', () => {
  test('a batchNormalization in each hidden layer: named in the model line, saved with the model, evaluated again', async () => {
    const save = join(dir, 'batch-norm.simdnet');
    const run = await simdnet(['train', '--data', 'spiral', '--hidden', '16,8', '--epochs', '3', '--batch-norm', '--save', save]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2-16-8-1, relu/sigmoid, batch norm, binary cross-entropy');
    const again = await simdnet(['evaluate', '--model', save]);
    expect(again.code).toBe(0);
    expect(percentAfter(again.stdout, /accuracy/)).toBe(percentAfter(run.stdout, /test accuracy/));
  });
});

describe('counts in what train prints', () => {
  test('one epoch is "1 epoch"', async () => {
    const { code, stdout } = await simdnet(['train', '--data', 'xor', '--epochs', '1']);
    expect(code).toBe(0);
    expect(stdout).toContain(' 1 epoch, backend');
  });
});

describe('Ctrl-C during train', () => {
  test('stops training, saves nothing, and exits 130', async () => {
    const save = join(dir, 'interrupted.simdnet');
    const child = spawn(process.execPath, [cli, 'train', '--data', 'spiral', '--epochs', '1000000', '--save', save], { cwd: repo });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once training has reported an epoch (the run would otherwise take hours).
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/epoch\s+\d+\//.test(stdout)) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before training:\n${stdout}`)));
    });
    expect(stdout).toMatch(/1,000,000 epochs, backend/);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).toContain('interrupted; nothing saved');
    expect(stdout).not.toContain('test accuracy');
    expect(existsSync(save)).toBe(false);
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

describe('evaluate and predict recognise the training data by its content, not its path', () => {
  const fixtures = join(repo, 'test/fixtures');
  let model: string;
  let trainAccuracy: number;

  beforeAll(async () => {
    model = join(dir, 'recognise.simdnet');
    // Trained on a path relative to the repository.
    const train = await simdnet([
      'train', '--data', 'test/fixtures/flowers.csv', '--label', 'species', '--hidden', '8', '--epochs', '20',
      '--lr', '0.01', '--batch-size', '8', '--save', model,
    ]);
    expect(train.code).toBe(0);
    trainAccuracy = percentAfter(train.stdout, /test accuracy/);
  });

  test('the training file named from another folder gives its held-out test rows', async () => {
    const run = await simdnet(['evaluate', '--model', model, '--data', 'flowers.csv'], fixtures);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('the test split of flowers.csv (24 rows, seed 42');
    expect(percentAfter(run.stdout, /accuracy/)).toBe(trainAccuracy);
    // A copy elsewhere holds the same rows: the same test split.
    const copy = join(dir, 'copy-of-flowers.csv');
    copyFileSync(join(fixtures, 'flowers.csv'), copy);
    const again = await simdnet(['evaluate', '--model', model, '--data', copy]);
    expect(again.stdout).toContain('the test split of');
    expect(percentAfter(again.stdout, /accuracy/)).toBe(trainAccuracy);
  });

  test('another file at the training file\'s path is used whole', async () => {
    const folder = join(dir, 'same-name');
    mkdirSync(folder);
    const lines = readFileSync(join(fixtures, 'flowers.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(folder, 'flowers.csv'), `${lines.slice(0, 41).join('\n')}\n`);
    const mine = join(dir, 'same-name.simdnet');
    expect((await simdnet(['train', '--data', 'flowers.csv', '--hidden', '4', '--epochs', '1', '--save', mine], folder)).code).toBe(0);
    writeFileSync(join(folder, 'flowers.csv'), `${[lines[0], ...lines.slice(41, 71)].join('\n')}\n`);
    const run = await simdnet(['evaluate', '--model', mine, '--data', 'flowers.csv'], folder);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('all 30 rows of flowers.csv');
  });
});

describe('labels', () => {
  test('a numeric label with many distinct values is refused without --loss, with the two ways on', async () => {
    const run = await simdnet(['train', '--data', fixture('houses.csv'), '--epochs', '1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/houses\.csv: label column "price" holds 147 different numbers in 150 rows, 144 of them on one row only/);
    expect(run.stderr).toMatch(/--loss mse .*--loss cce/);
    expect(run.stdout).not.toContain('epoch');
    const classes = await simdnet(['train', '--data', fixture('houses.csv'), '--loss', 'cce', '--epochs', '1', '--hidden', '4']);
    expect(classes.code).toBe(0);
    expect(classes.stdout).toContain('147 classes');
  });

  test('predict ignores the label column: blank or "?" is fine', async () => {
    const model = join(dir, 'unlabelled.simdnet');
    expect((await simdnet(['train', '--data', fixture('flowers.csv'), '--hidden', '4', '--epochs', '1', '--save', model])).code).toBe(0);
    const lines = readFileSync(fixture('flowers.csv'), 'utf8').trim().split('\n');
    const unlabelled = join(dir, 'unlabelled.csv');
    writeFileSync(unlabelled, `${[lines[0], ...lines.slice(1, 11).map((l, i) => l.replace(/,[^,]*$/, i % 2 ? ',?' : ','))].join('\n')}\n`);
    const run = await simdnet(['predict', '--model', model, '--data', unlabelled]);
    expect(run.stderr).toContain('predict');
    expect(run.code).toBe(0);
    expect(csvRows(run.stdout)).toHaveLength(10);
  });
});

describe('wording', () => {
  test('one of a thing is singular, and no test rows is explained by what was asked', async () => {
    const tiny = join(dir, 'tiny.csv');
    writeFileSync(tiny, 'x,label\n1,a\n2,b\n');
    const model = join(dir, 'tiny.simdnet');
    const run = await simdnet(['train', '--data', tiny, '--epochs', '1', '--hidden', '2', '--save', model]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('(1 feature, 2 classes)');
    expect(run.stdout).toContain(', 1 epoch, ');
    expect(run.stdout).toContain('test     no test rows (a test split of 0.2 of 2 rows rounds to none)');
    expect(run.stdout).not.toContain('--test-split 0');
    const none = await simdnet(['train', '--data', tiny, '--epochs', '1', '--hidden', '2', '--test-split', '0']);
    expect(none.stdout).toContain('test     no test rows (--test-split 0)');
    const one = join(dir, 'one.csv');
    writeFileSync(one, 'x\n1\n');
    const predicted = await simdnet(['predict', '--model', model, '--data', one]);
    expect(predicted.code).toBe(0);
    expect(predicted.stderr).toContain('on the 1 row of');
  });
});

describe('output', () => {
  test('a closed stdout does not lose the model: train goes on and saves it', async () => {
    const model = join(dir, 'closed-stdout.simdnet');
    const child = spawn(process.execPath, [
      cli, 'train', '--data', 'xor', '--hidden', '8', '--epochs', '5', '--backend', 'js', '--save', model,
    ], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the first line, as `| head -0` would.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(existsSync(model)).toBe(true);
  });

  test('regression losses are in the target\'s units, like the test scores, and say so', async () => {
    const run = await simdnet([
      'train', '--data', fixture('houses.csv'), '--loss', 'mse', '--hidden', '16', '--epochs', '60',
      '--lr', '0.01', '--batch-size', '16',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/mean squared error of "price", in its units/);
    const last = run.stdout.split('\n').filter((l) => l.startsWith('epoch')).at(-1) ?? '';
    const valLoss = Number(/val_loss (\d+\.\d+)/.exec(last)?.[1]);
    const testMse = Number(/test +mse (\d+\.\d+)/.exec(run.stdout)?.[1]);
    // Standardised, val_loss would be about testMse / var(price), some 40 times smaller.
    expect(valLoss / testMse).toBeGreaterThan(0.25);
    expect(valLoss / testMse).toBeLessThan(4);
  });
});

// Each case is its own short process: run them side by side.
describe.concurrent('malformed input fails with file, line and column, and writes nothing', () => {
  test.for<[string, string, string[], RegExp]>([
    ['ragged rows', 'ragged.csv', [], /ragged\.csv:4:3: row has 2 fields, the header has 4; column 3 \("height"\) is missing/],
    ['a non-numeric feature', 'non-numeric.csv', [], /non-numeric\.csv:3:2: feature column "width" must be a number, got "n\/a"/],
    ['an empty file', 'empty.csv', [], /empty\.csv:1:1: the file is empty/],
    ['a missing label column', 'missing-label.csv', ['--label', 'species'], /missing-label\.csv:1: no label column "species"; the header has "length", "width", "height", "kind"/],
    ['a number beyond float32', 'too-large.csv', [], /too-large\.csv:3:2: feature column "width" holds 1e39, beyond the range of 32-bit floats/],
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

  /** What a terminal shows after the text: carriage returns, cursor moves and line clears applied. */
  function screen(text: string): string[] {
    const lines: string[] = [''];
    let row = 0;
    let col = 0;
    let saved: [number, number] = [0, 0];
    const write = (ch: string): void => {
      const line = lines[row].padEnd(col);
      lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
      col++;
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch === '\r') col = 0;
      else if (ch === '\n') {
        row++;
        col = 0;
        lines[row] ??= '';
      } else if (ch === '\u001b' && (text[i + 1] === '7' || text[i + 1] === '8')) {
        // Save or restore the cursor: cli-progress restores it to where the bar began.
        if (text[i + 1] === '7') saved = [row, col];
        else [row, col] = saved;
        i++;
      } else if (ch === '\u001b') {
        const seq = /^\u001b\[(\??)(\d*)([A-Za-z])/.exec(text.slice(i));
        if (seq === null) throw new Error(`unknown escape at ${i}: ${JSON.stringify(text.slice(i, i + 8))}`);
        i += seq[0].length - 1;
        const [, privateMode, n, op] = seq;
        if (privateMode === '?') continue; // cursor shown or hidden
        if (op === 'G') col = Number(n || 1) - 1;
        else if (op === 'K' && n === '2') lines[row] = '';
        else if (op === 'K') lines[row] = lines[row].slice(0, col);
        else throw new Error(`unhandled escape ${JSON.stringify(seq[0])}`);
      } else write(ch);
    }
    return lines.map((l) => l.trimEnd()).filter((l) => l !== '');
  }

  test('a terminal gets a bar per epoch, then the epoch line', () => {
    const { stream, text } = capture(true);
    simulate(stream);
    expect(text()).toContain('\u001b[');
    expect(text()).toMatch(/epoch 1\/2 \S*█+\S* 100% \| 100\/100 \| loss 0\.5000 \| acc 80\.00%/);
    expect(text()).toMatch(/epoch 2\/2 {2}loss 0\.5000 {2}acc 80\.00% {2}val_loss 0\.4000 {2}val_acc 90\.00%/);
  });

  test('in a terminal, each finished bar gives way to its epoch line', () => {
    const { stream, text } = capture(true);
    simulate(stream);
    expect(screen(text())).toEqual([
      expect.stringMatching(/^epoch 1\/2 {2}loss 0\.5000 {2}acc 80\.00% {2}val_loss 0\.4000/),
      expect.stringMatching(/^epoch 2\/2 {2}loss 0\.5000 {2}acc 80\.00% {2}val_loss 0\.4000/),
    ]);
  });

  test('a dumb terminal (TERM=dumb) gets plain lines, no bar', () => {
    const term = process.env.TERM;
    process.env.TERM = 'dumb';
    try {
      const { stream, text } = capture(true);
      simulate(stream);
      expect(text()).not.toMatch(/[\r\u001b█░]/);
      expect(text().trim().split('\n')).toHaveLength(2);
    } finally {
      if (term === undefined) delete process.env.TERM;
      else process.env.TERM = term;
    }
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
    [['train', '--optimizer', 'lamb'], /--optimizer must be one of sgd, momentum, adam, adamw, rmsprop, adagrad, got "lamb"/],
    [['train', '--epochs', '0'], /--epochs must be a positive integer, got "0"/],
    [['train', '--epochs', '-5'], /--epochs must be a positive integer, got "-5"/],
    [['train', '--lr', '-0.1'], /--lr must be a positive number, got "-0.1"/],
    [['train', '--lr', 'fast'], /--lr must be a positive number, got "fast"/],
    [['train', '--hidden', '128,x'], /--hidden must be comma-separated positive layer widths/],
    [['train', '--backend', 'gpu'], /--backend must be one of wasm, js, got "gpu"/],
    [['train', '--loss', 'hinge'], /--loss must be one of categoricalCrossentropy/],
    [['train', '--data', 'iris'], /--data must be mnist, spiral, moons, circles, xor or a CSV file, got "iris" \(no such file\)/],
    [['train', '--data', 'xor', '--label', 'y'], /--label names a column of a CSV file; xor has no columns/],
    [['train', '--colour'], /unknown option '--colour'/],
    [['train', '--bach-size', '8'], /unknown option '--bach-size' \(did you mean --batch-size\?\)/],
    [['train', '--epochs'], /option '--epochs <n>' argument missing/],
    [['train', '--relaxed-simd=yes'], /--relaxed-simd takes no value/],
    [['train', 'data.csv'], /unexpected argument "data\.csv" after "train" \(options start with --\)/],
    [['evaluate'], /needs --model <path>/],
    [['evaluate', '--model', 'm', '--epochs', '3'], /option --epochs does not apply to "simdnet evaluate"/],
    [['train', '--relaxed-simd', '--backend', 'js'], /--relaxed-simd selects a build of the wasm kernels; it does not apply to --backend js/],
    [['evaluate', '--model', 'm', '--relaxed-simd'], /option --relaxed-simd does not apply to "simdnet evaluate"/],
    [['fly'], /unknown command 'fly'/],
    [['trian'], /unknown command 'trian' \(did you mean train\?\)/],
    [['help', 'fly'], /unknown command 'fly'; the commands are train, evaluate, predict, bench/],
  ])('%j', async ([args, message], { expect }) => {
    const run = await simdnet(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.split('\n')[0]).toMatch(/^simdnet: /);
    // Points to the help of the command at fault, or to the list of commands.
    const command = ['train', 'evaluate'].find((c) => c === args[0]);
    expect(run.stderr).toContain(command === undefined ? 'Run "simdnet --help"' : `Run "simdnet ${command} --help"`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
