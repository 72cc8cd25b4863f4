/**
 * Generates src/core/deid/ps315-table.json from the standard's Table E.1-1 as published in machine-
 * readable form (src/core/deid/source/, provenance in PROVENANCE.md). Run after updating the source:
 *   npx tsx scripts/gen-deid-table.ts
 * src/core/deid/table.test.ts regenerates it and fails if the committed table differs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTableFromSource } from '../src/core/deid/source-table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'src/core/deid/ps315-table.json');
fs.writeFileSync(out, buildTableFromSource(root));
console.log(`wrote ${path.relative(root, out)}`);
