/** `simdnet predict`: a saved model's predictions as CSV on stdout, one line per input row. */
import { loadForModel } from './model-data.js';
import { readModelFile } from './model-file.js';
import type { Settings } from './options.js';
import { decodeClasses, decodeTargets, predictAll } from './scoring.js';

export async function predict(settings: Settings, out: (line: string) => void, info: (line: string) => void): Promise<void> {
  const { model, metadata } = await readModelFile(settings.model!, settings.backend, settings.threads);
  try {
    const { data, description } = await loadForModel(
      metadata, settings.data, settings.seed, undefined, false, model.inputUnits,
    );
    // The description goes to stderr so that stdout stays a clean CSV.
    info(`predict ${settings.model} on ${description}`);
    const outputs = predictAll(model, data);
    const lines: string[] = [];
    if (metadata.task === 'classification') {
      const { index, probability } = decodeClasses(outputs, model.outputUnits);
      lines.push('prediction,probability');
      for (let r = 0; r < data.rows; r++) {
        lines.push(`${csvField(metadata.classes[index[r]])},${probability[r].toFixed(6)}`);
      }
    } else {
      lines.push('prediction');
      for (const value of decodeTargets(outputs, metadata.target!)) lines.push(String(Number(value.toPrecision(7))));
    }
    out(lines.join('\n'));
  } finally {
    model.dispose();
  }
}

/** Quote a class name that holds a comma, quote or line break (RFC 4180). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
