/**
 * The control block a model's threads share with the calling thread: one SharedArrayBuffer, apart
 * from the model's linear memory so that no kernel can overwrite it (docs/ARCHITECTURE.md, 'Threads').
 *
 * A kernel call is cut into parts. The caller writes each part's arguments into the table, resets
 * DONE and publishes the call in CLAIM = generation·4096 + parts·64 + next part, the next part
 * being 1 when the caller runs part 0 itself (so that a range stays on one core from call to
 * call) and 0 when it has other work first (overlap). Then every thread, the caller included,
 * claims parts with a compare-and-swap on CLAIM and runs them, until none is left; the caller waits
 * until DONE counts them all. A part goes to whichever thread claims it first, so a worker that is
 * asleep or descheduled delays nothing: the caller runs the parts it leaves.
 *
 * Int32 indices:
 *   FAILED      0, or 1 + the index of the first worker that stopped
 *   MESSAGE_LENGTH, MESSAGE …  why it stopped, one UTF-16 code unit per int
 *   STOPPING    set by the caller before it stops the threads, so their exits are expected
 *   KERNEL      the call's kernel (an index into KERNEL_NAMES)
 *   SCRATCH_ARG the argument that a worker replaces with its own scratch (SCRATCH_KIND 1: GEMM
 *               packing panels, 2: the tmp slot)
 *   SLEEPERS    workers asleep in Atomics.wait on CLAIM (the caller notifies only when > 0)
 *   WAITING     set while the caller sleeps on DONE (the last worker to finish notifies then)
 *   CLAIM       generation (19 bits)·4096 + parts·64 + next part, or −1 when the threads stop: one
 *               word, so that a compare-and-swap made with an old reading fails
 *   DONE        parts finished
 *   slot(w)     worker w: STATE (non-zero while it claims or runs a part), DEAD (set by the
 *               supervisor), its GEMM scratch and tmp pointers (written once, before any call)
 *   RESULTS …   what each part's kernel returned (allFinite), one int per part, for the caller to
 *               combine in part order
 * and from byte ARGS_BYTE, ARGS float64 arguments per part.
 */

/** The kernels a worker can run, by index: the raw exports of the shared builds. */
export const KERNEL_NAMES = [
  'gemmNN', 'gemmTN', 'gemmNT', 'gemmNTBackward', 'activation', 'biasActivation',
  'activationBackward', 'gatherRows', 'sgd', 'momentum', 'adam', 'sparseGemmNN', 'sparseGemmTN',
  'copy', 'allFinite',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export const MAX_PARTS = 63;
export const MAX_WORKERS = 63;
export const SCRATCH_GEMM = 1;
export const SCRATCH_TMP = 2;

export interface ControlLayout {
  readonly failed: number;
  readonly messageLength: number;
  readonly stopping: number;
  readonly kernel: number;
  readonly scratchArg: number;
  readonly scratchKind: number;
  readonly sleepers: number;
  readonly waiting: number;
  readonly claim: number;
  readonly done: number;
  readonly message: number;
  readonly messageMax: number;
  readonly slot0: number;
  readonly slotInts: number;
  readonly state: number;
  readonly dead: number;
  readonly scratch: number;
  readonly tmp: number;
  readonly argsByte: number;
  readonly args: number;
  readonly results: number;
}

const SLOT0 = 512;
const SLOT_INTS = 16;

export const LAYOUT: ControlLayout = {
  failed: 0,
  messageLength: 1,
  stopping: 2,
  kernel: 3,
  scratchArg: 5,
  scratchKind: 6,
  sleepers: 7,
  waiting: 8,
  // CLAIM and DONE, written by every thread, each on a cache line of its own.
  claim: 16,
  done: 32,
  message: 48,
  messageMax: 400,
  slot0: SLOT0,
  slotInts: SLOT_INTS,
  state: 0,
  dead: 1,
  scratch: 2,
  tmp: 3,
  argsByte: (SLOT0 + MAX_WORKERS * SLOT_INTS) * 4,
  args: 16,
  results: 448,
};

/** Bytes of the control block. */
export const CONTROL_BYTES = LAYOUT.argsByte + MAX_PARTS * LAYOUT.args * 8;
