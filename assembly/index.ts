// The module's exports: every kernel family, nothing else.
export * from './memory';
export * from './gemm';
export * from './sparse';
export * from './activations';
export * from './reductions';
export * from './losses';
export * from './optimizers';
export * from './updates';
export * from './batchnorm';
