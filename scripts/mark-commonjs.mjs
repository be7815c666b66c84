#!/usr/bin/env node
// dist/cjs/ holds the CommonJS build of the library (tsc -p tsconfig.cjs.json): the package is
// "type": "module", so this folder gets a package.json of its own that makes Node, TypeScript and
// bundlers read its .js and .d.ts files as CommonJS. Run by `npm run build:cjs`.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
