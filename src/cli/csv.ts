/**
 * Reading a CSV data file: csv-parse does the parsing (quotes, BOM, line endings); this module
 * checks the shape and the numbers and reports each problem as `file:line:column: what`.
 */
import { readFileSync } from 'node:fs';
import { parse, CsvError } from 'csv-parse/sync';

/** A problem with an input file or the data it names; the message starts with file:line[:column] where there is one. */
export class DataError extends Error {
  override name = 'DataError';
}

export interface CsvTable {
  file: string;
  header: string[];
  /** Data rows (the header excluded), every one as long as the header. */
  rows: string[][];
  /** rows[i] ends on line lines[i] of the file (1-based, as editors count). */
  lines: number[];
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

export function readCsv(file: string): CsvTable {
  const records = parseRecords(file, readDataFile(file));
  if (records.length === 0) {
    throw new DataError(`${file}:1:1: the file is empty; expected a header line such as "x1,x2,label" and data rows`);
  }
  const header = records[0].record;
  const headerLine = records[0].info.lines;
  checkHeader(file, header, headerLine);
  if (records.length === 1) {
    throw new DataError(`${file}:${headerLine + 1}:1: no data rows after the header`);
  }
  return { file, header, ...dataRows(file, header, records.slice(1)) };
}

function readDataFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new DataError(`${file}: cannot read the data file (${why})`);
  }
}

function parseRecords(file: string, text: Buffer): ParsedRecord[] {
  try {
    return parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      // Ragged rows are reported below with the header's column names, not csv-parse's wording.
      relax_column_count: true,
      info: true,
    }) as unknown as ParsedRecord[];
  } catch (err) {
    if (err instanceof CsvError) {
      const at = typeof err['lines'] === 'number' ? err['lines'] : '?';
      const column = typeof err['column'] === 'number' ? `:${err['column'] + 1}` : '';
      throw new DataError(`${file}:${at}${column}: ${err.message}`);
    }
    throw err;
  }
}

/** Every column named, and no name twice. */
function checkHeader(file: string, header: string[], headerLine: number): void {
  header.forEach((name, i) => {
    if (name === '') throw new DataError(`${file}:${headerLine}:${i + 1}: column ${i + 1} of the header has no name`);
    const first = header.indexOf(name);
    if (first !== i) {
      throw new DataError(`${file}:${headerLine}:${i + 1}: column name "${name}" is used twice (also column ${first + 1})`);
    }
  });
}

/** The data records, each checked to be as long as the header, with the line each ends on. */
function dataRows(file: string, header: string[], records: ParsedRecord[]): Pick<CsvTable, 'rows' | 'lines'> {
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const { record, info } of records) {
    if (record.length < header.length) {
      const missing = record.length;
      throw new DataError(
        `${file}:${info.lines}:${missing + 1}: row has ${record.length} field${record.length === 1 ? '' : 's'}, ` +
          `the header has ${header.length}; column ${missing + 1} ("${header[missing]}") is missing`,
      );
    }
    if (record.length > header.length) {
      throw new DataError(
        `${file}:${info.lines}:${header.length + 1}: row has ${record.length} fields, ` +
          `the header has ${header.length}; column ${header.length + 1} has no name in the header`,
      );
    }
    rows.push(record);
    lines.push(info.lines);
  }
  return { rows, lines };
}

/** Index of a named column, or a DataError naming what the header has. */
export function columnIndex(table: CsvTable, name: string, role: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new DataError(
      `${table.file}:1: no ${role} column "${name}"; the header has ${table.header.map((h) => `"${h}"`).join(', ')}`,
    );
  }
  return index;
}

// Decimal notation only: Number() would also take '', '0x1F' and 'Infinity', which are data errors here.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The largest float32, which the network computes in: a larger number would become Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The number in a cell, or a DataError at its line and column. */
export function numberAt(table: CsvTable, row: number, column: number, role: string): number {
  const cell = table.rows[row][column];
  const value = DECIMAL.test(cell) ? Number(cell) : NaN;
  const where = `${table.file}:${table.lines[row]}:${column + 1}: ${role} column "${table.header[column]}"`;
  if (!Number.isFinite(value)) {
    throw new DataError(`${where} must be a number, got ${cell === '' ? 'an empty field' : `"${cell}"`}`);
  }
  if (Math.abs(value) > FLOAT32_MAX) {
    throw new DataError(`${where} holds ${cell}, beyond the range of 32-bit floats (±3.4e38) the network computes in`);
  }
  return value;
}
