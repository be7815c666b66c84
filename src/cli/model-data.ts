/**
 * Data for a saved model (`evaluate`, `predict`): read with the model's feature columns and
 * prepared with its saved statistics. For evaluate, the data the model was trained on (recognised
 * by its content) gives its held-out test rows (same seed, same split); any other file, and every
 * file predict reads, is used whole.
 */
import { isBuiltin, loadBuiltin } from './data/builtin-sets.js';
import { checkCsvPath, loadCsvForModel } from './data/csv-sets.js';
import type { Dataset } from './data/dataset.js';
import { sameRows } from './data/fingerprint.js';
import { partitionRows, takeRows } from './data/split.js';
import { standardize } from './data/standardize.js';
import type { CliMetadata } from './model-file.js';
import { UsageError } from './options.js';
import { formatInt, plural } from './progress.js';

export interface ModelData {
  data: Dataset;
  /** For the report: "the test split of xor (80 rows, seed 42)" or "all 150 rows of flowers.csv". */
  description: string;
}

export async function loadForModel(
  meta: CliMetadata,
  dataArg: string | undefined,
  seedArg: number | undefined,
  labelArg: string | undefined,
  needLabel: boolean,
  inputUnits: number,
): Promise<ModelData> {
  const source = dataArg ?? meta.data.source;
  const seed = seedArg ?? meta.data.seed;
  const builtin = isBuiltin(source);
  let data: Dataset;
  let description: string;

  if (builtin) {
    if (labelArg !== undefined) {
      throw new UsageError(`--label names a column of a CSV file; ${source} has no columns to choose from`);
    }
    if (!meta.data.builtin || meta.data.source !== source) {
      throw new UsageError(
        `this model was trained on ${meta.data.source} (${meta.features.length} features); it cannot read --data ${source}`,
      );
    }
    const all = await loadBuiltin(source, seed);
    const { test } = partitionRows(all.rows, seed, meta.data.testSplit, meta.data.validationSplit);
    data = takeRows(all, test);
    description = `the test split of ${source} (${plural(data.rows, 'row')}, seed ${seed})`;
  } else {
    checkCsvPath(source);
    const label = labelArg ?? meta.label;
    const all = loadCsvForModel(source, meta.features, label, meta.task, meta.classes, needLabel);
    if (needLabel && !meta.data.builtin && sameRows(all, meta.data.fingerprint)) {
      const { test } = partitionRows(all.rows, seed, meta.data.testSplit, meta.data.validationSplit);
      data = takeRows(all, test);
      description = `the test split of ${source} (${plural(data.rows, 'row')}, seed ${seed}; it holds the rows the model was trained on)`;
    } else {
      data = all;
      description = data.rows === 1 ? `the 1 row of ${source}` : `all ${formatInt(data.rows)} rows of ${source}`;
    }
  }

  if (data.features.length !== inputUnits) {
    throw new UsageError(`the model reads ${inputUnits} features; ${source} gives ${data.features.length}`);
  }
  if (meta.standardization !== null) standardize(data, meta.standardization);
  return { data, description };
}
