/**
 * What identifies a data set's rows, saved with a model: `evaluate` recognises the data the model
 * was trained on by it (and scores only its held-out test rows), wherever the file is and whatever
 * it is called, and never mistakes another file of the same name for it.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from './dataset.js';

export interface Fingerprint {
  rows: number;
  /** SHA-256 of the features and labels as loaded (float32, row by row), hex. */
  sha256: string;
}

/** The rows as the model reads them, before any preprocessing: the same file read again gives the same. */
export function fingerprint(data: Dataset): Fingerprint {
  const hash = createHash('sha256');
  hash.update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength));
  hash.update(new Uint8Array(data.y.buffer, data.y.byteOffset, data.y.byteLength));
  return { rows: data.rows, sha256: hash.digest('hex') };
}

export function sameRows(data: Dataset, saved: Fingerprint | undefined): boolean {
  if (saved === undefined || saved.rows !== data.rows) return false;
  return fingerprint(data).sha256 === saved.sha256;
}
