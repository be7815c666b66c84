#!/usr/bin/env node
/**
 * The `simdnet` command: parses the command line, runs one command, and turns failures into a
 * message and an exit code: 0 done, 1 bad data or failed run, 2 wrong usage.
 */
import { SimdnetError } from '../index.js';
import { bench } from './bench.js';
import { DataError } from './csv.js';
import { evaluate } from './evaluate.js';
import { parseCommandLine, UsageError, type CommandName } from './options.js';
import { predict } from './predict.js';
import { train } from './train.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

// A reader that goes away (`simdnet train … | head -1`) ends the output, not the work: what is left
// to print is dropped, and train still saves its model. Nothing is lost by carrying on: predict
// has printed everything by then.
let stdoutOpen = true;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutOpen = false;
});

const out = (line: string): void => {
  if (stdoutOpen) process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export async function main(argv: readonly string[]): Promise<number> {
  let command: CommandName | undefined;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'output') {
      process.stdout.write(parsed.text);
      return EXIT_OK;
    }
    const { settings } = parsed;
    command = settings.command;
    switch (settings.command) {
      case 'train':
        await train(settings, out);
        return EXIT_OK;
      case 'evaluate':
        await evaluate(settings, out);
        return EXIT_OK;
      case 'predict':
        await predict(settings, out, err);
        return EXIT_OK;
      case 'bench':
        return bench(err);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`simdnet: ${error.message}`);
      const about = error.command ?? command;
      err(about === undefined ? 'Run "simdnet --help" for the commands.' : `Run "simdnet ${about} --help" for its options.`);
      return EXIT_USAGE;
    }
    if (error instanceof DataError || error instanceof SimdnetError) {
      err(`simdnet: ${error.message}`);
      return EXIT_FAILED;
    }
    err(`simdnet: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT_FAILED;
  }
}

// Leave the exit to the event loop (exitCode, not exit()) so buffered stdout is flushed to pipes.
process.exitCode = await main(process.argv.slice(2));
