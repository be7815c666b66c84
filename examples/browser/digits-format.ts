/**
 * The digits file the MNIST page downloads: every digit of the `mnist` package as uint8 pixels,
 * gzip-compressed (about 1.6 MB, against 40 MB of JSON in the package). Written when the demo is
 * built or served (digits-plugin.ts), read in the workers (digits.ts). Before compression:
 *
 *   'DGT1'  count (u32 LE)  side (u32 LE)  count labels (u8)  count × side² pixels (u8, row-major)
 *
 * The digits are stored in a fixed shuffled order, so that the first TRAIN_COUNT are the training
 * set and the rest the test set, the same for every library the page trains.
 */
export const MAGIC = 'DGT1';
export const HEADER_BYTES = 12;
export const TRAIN_COUNT = 8000;
