/**
 * The layering of src/ (docs/ARCHITECTURE.md, "Layers"): every import points down.
 *   backend/ → core concepts (errors, random, data, layers, losses, optimizers, plan, network, …)
 *   → io/ (file formats) → training/ → model.ts → load.ts → index.ts, node.ts, cli/
 * and only node.ts, cli/, bench/ and tests import Node's built-ins.
 */
const CORE = '^src/(errors|random|scalars|data|datasets|layers|losses|metrics|optimizers|plan|network)[.]ts$';
const ABOVE_CORE = '^src/(io/|training/|cli/|model[.]ts|load[.]ts|index[.]ts|node[.]ts)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Imports form no cycle.', from: {}, to: { circular: true } },
    {
      name: 'backend-at-the-bottom',
      severity: 'error',
      comment: 'backend/ imports only itself, errors.ts and the embedded wasm.',
      from: { path: '^src/backend/' },
      to: { path: '^src/', pathNot: '^src/(backend/|errors[.]ts$|wasm/)' },
    },
    { name: 'core-below-io', severity: 'error', comment: 'The core concepts import nothing above them.', from: { path: CORE }, to: { path: ABOVE_CORE } },
    {
      name: 'io-below-training',
      severity: 'error',
      comment: 'io/ holds file formats only, below training and the model.',
      from: { path: '^src/io/' },
      to: { path: '^src/(training/|cli/|model[.]ts|load[.]ts|index[.]ts|node[.]ts)' },
    },
    {
      name: 'training-below-model',
      severity: 'error',
      from: { path: '^src/training/' },
      to: { path: '^src/(cli/|model[.]ts|load[.]ts|index[.]ts|node[.]ts)' },
    },
    { name: 'model-below-load', severity: 'error', from: { path: '^src/model[.]ts$' }, to: { path: '^src/(cli/|load[.]ts|index[.]ts|node[.]ts)' } },
    { name: 'load-below-index', severity: 'error', from: { path: '^src/load[.]ts$' }, to: { path: '^src/(cli/|index[.]ts|node[.]ts)' } },
    { name: 'index-not-node', severity: 'error', comment: 'The browser entry never pulls in Node code.', from: { path: '^src/index[.]ts$' }, to: { path: '^src/(cli/|node[.]ts)' } },
    { name: 'library-not-cli', severity: 'error', from: { path: '^src/', pathNot: '^src/cli/' }, to: { path: '^src/cli/' } },
    {
      name: 'node-builtins-at-the-edge',
      severity: 'error',
      comment: 'Only node.ts and cli/ (and bench/, tests) use Node built-ins: the rest runs in browsers.',
      from: { path: '^src/', pathNot: '^src/(node[.]ts|cli/)' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
