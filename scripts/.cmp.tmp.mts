import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, headCtFiles, CHEST_CR } from './lib/demo-data.js';
import { loadModel, readDicomSlice } from '../gateway/ai/runtime.js';
import { preprocess } from '../src/core/ai/processing.js';
import { preprocess as oldPre } from './.old-processing.tmp.js';
for (const [name, files] of [['head-ct-hyperdensity', headCtFiles()], ['chest-cr-nodule', [CHEST_CR]]] as const) {
  const model = await loadModel(path.join(REPO_ROOT, 'models', name), { noCache: true, numThreads: 1 });
  const slices = files.map((f) => readDicomSlice(fs.readFileSync(f)));
  let diff = 0; const tn: number[] = []; const to: number[] = [];
  for (const s of slices) {
    let t = performance.now(); const a = oldPre(s, model.manifest.input); to.push(performance.now() - t);
    t = performance.now(); const b = preprocess(s, model.manifest.input); tn.push(performance.now() - t);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1].toFixed(2);
  console.log(name, 'differing values', diff, 'old median ms', med(to), 'new median ms', med(tn), 'first old/new', to[0].toFixed(1), tn[0].toFixed(1));
}
