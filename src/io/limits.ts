/**
 * What a model file may claim. Loading checks these before it allocates anything, so a hostile or
 * damaged file can cost at most a bounded amount of memory and time. They are far above what a
 * dense network trained on a CPU needs; save() refuses a model outside them, so every file simdnet
 * writes, it can read.
 */
import { plural } from '../errors.js';

export const MODEL_LIMITS = Object.freeze({
  /** Dense layers in one model. */
  maxLayers: 1024,
  /** Units of any layer, and input features. */
  maxUnits: 1 << 20,
  /**
   * Parameters, batch normalization's moving statistics included. A model keeps four regions of
   * this size (weights, gradients, two optimizer slots): 2^26 parameters are 1 GiB of the 4 GiB a
   * wasm32 memory can address.
   */
  maxParams: 1 << 26,
  /** UTF-8 bytes of a file's JSON header (layers, settings and metadata), and of a model.json. */
  maxHeaderBytes: 16 << 20,
});

export type ModelLimits = typeof MODEL_LIMITS;

/** The most bytes a valid SNET file can have: preamble, header, padding, weights and two optimizer slots. */
export const MAX_FILE_BYTES = 12 + MODEL_LIMITS.maxHeaderBytes + 4 + 3 * 4 * MODEL_LIMITS.maxParams;

/**
 * Checks a stack of layer sizes against the limits; returns the parameter count (with `extra[l]`
 * more weights for layer l: batch normalization's), or a reason worded to follow "the model has"
 * ("70000 units in layers[1], more than the limit of 1048576"). Sizes are checked before they are
 * multiplied, so the count is exact (below 2^53).
 */
export function checkSizes(inputUnits: number, units: readonly number[], extra: readonly number[] = []): { params: number } | { problem: string } {
  const { maxLayers, maxUnits, maxParams } = MODEL_LIMITS;
  if (units.length > maxLayers) return { problem: `${plural(units.length, 'layer')}, more than the limit of ${maxLayers}` };
  if (inputUnits > maxUnits) return { problem: `${plural(inputUnits, 'input feature')}, more than the limit of ${maxUnits}` };
  let params = 0;
  let fanIn = inputUnits;
  for (let l = 0; l < units.length; l++) {
    if (units[l] > maxUnits) return { problem: `${plural(units[l], 'unit')} in layers[${l}], more than the limit of ${maxUnits}` };
    params += fanIn * units[l] + units[l] + (extra[l] ?? 0);
    fanIn = units[l];
  }
  if (params > maxParams) return { problem: `${plural(params, 'parameter')}, more than the limit of ${maxParams}` };
  return { params };
}
