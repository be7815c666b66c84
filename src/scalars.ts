/**
 * Numbers that a training step passes to backend calls (leakyRelu's slope, the optimizer's
 * hyper-parameters), held so that passing them allocates nothing.
 * `sharedNumbers` first sets each field of its copy to null, so that the field holds shared boxes
 * that a call passes as they are (docs/ARCHITECTURE.md, 'Number boxing').
 */
export function sharedNumbers<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = null;
  Object.assign(out, value);
  return out as T;
}
