/** `simdnet evaluate`: scores of a saved model on labelled data. */
import { loadForModel } from './model-data.js';
import { readModelFile } from './model-file.js';
import type { Settings } from './options.js';
import { formatInt, formatLoss, formatPercent, plural } from './progress.js';
import { decodeTargets, predictAll, scoreClassification, scoreRegression } from './scoring.js';

export async function evaluate(settings: Settings, out: (line: string) => void): Promise<void> {
  const { model, metadata } = await readModelFile(settings.model!, settings.backend, settings.threads);
  try {
    const { data, description } = await loadForModel(
      metadata, settings.data, settings.seed, settings.label, true, model.inputUnits,
    );
    out(`evaluate ${settings.model} on ${description}`);
    const outputs = predictAll(model, data);
    if (metadata.task === 'classification') {
      const s = scoreClassification(outputs, model.outputUnits, data.y, metadata.loss);
      out(`loss ${formatLoss(s.loss)}  accuracy ${formatPercent(s.accuracy)} (${formatInt(s.correct)}/${formatInt(s.rows)})`);
    } else {
      const s = scoreRegression(decodeTargets(outputs, metadata.target!), data.y);
      out(`mse ${formatLoss(s.mse)}  rmse ${formatLoss(s.rmse)}  r² ${s.r2.toFixed(4)} (${plural(s.rows, 'row')})`);
    }
  } finally {
    model.dispose();
  }
}
