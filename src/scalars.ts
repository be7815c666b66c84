/**
 * Numbers that a training step passes to backend calls (leakyRelu's slope, the optimizer's
 * hyper-parameters), held so that passing them allocates nothing.
 *
 * V8 keeps a field that has only ever held numbers as a private, mutable box, and reads it as a raw
 * double; passing that double to a call it does not inline (a backend kernel, once a process has
 * used both backends and the call site sees two) then boxes it into a new heap object, at every
 * step. A field that has also held a non-number holds numbers as shared, immutable boxes, which a
 * call takes as they are. `sharedNumbers` makes its copy's fields such fields: each is first set to
 * null. (test/alloc.test.ts measures what a step allocates.)
 */
export function sharedNumbers<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = null;
  Object.assign(out, value);
  return out as T;
}
