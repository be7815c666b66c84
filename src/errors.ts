/**
 * The one error type of the public API. Every check at the facade throws it before any kernel
 * runs, with a message naming the argument, what was expected and what was given.
 */
export class SimdnetError extends Error {
  /** The argument (or option) the message is about, e.g. `x`, `batchSize`, `layers[1].units`. */
  readonly argument: string;

  constructor(argument: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimdnetError';
    this.argument = argument;
  }
}

/** `where: argument must be expected, got given`: the usual shape of a facade error. */
export function invalid(where: string, argument: string, expected: string, given: unknown): SimdnetError {
  return new SimdnetError(argument, `${where}: ${argument} must be ${expected}, got ${describeValue(given)}`);
}

/** A short, readable account of a value for an error message (never its whole contents). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as ArrayLike<unknown>).length;
    return `a ${value.constructor.name}${length === undefined ? '' : ` of length ${length}`}`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.slice(0, 6).join(', ')}`;
  }
  return typeof value;
}

/** `n` and the noun, singular or plural: "1 row", "2 rows", "1 epoch". */
export function plural(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

/** Rejects keys a caller might have misspelt (`batch_size`, `lr`), which would otherwise be ignored. */
export function checkKeys(where: string, argument: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new SimdnetError(
        `${argument}.${key}`,
        `${where}: ${argument} has no option ${JSON.stringify(key)}; the options are ${allowed.join(', ')}`,
      );
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
