// Horizontal reductions of one f32x4 to a scalar, shared by the kernels. Each has a fixed order of
// operations, stated in its contract: changing it changes the bits of every result built on it.
// Not a kernel family: index.ts does not export it. (allFinite in reductions.ts folds its lanes in
// another order, ((v0 + v1) + v2) + v3, and keeps its own code.)

/** Sum of the lanes as (v0 + v2) + (v1 + v3): halves first, then the pair. */
@inline export function hsum(v: v128): f32 {
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}

/** Max of the lanes as pmax(pmax(v0, v2), pmax(v1, v3)), where pmax(a, b) = a < b ? b : a. */
@inline export function hmax(v: v128): f32 {
  v = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  v = f32x4.pmax(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}
