import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { REPO_ROOT, headCtFiles } from './lib/demo-data.js';
import { loadModel, readDicomSlice } from '../gateway/ai/runtime.js';
import { preprocess } from '../src/core/ai/processing.js';
const model = await loadModel(path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity'), { noCache: true, numThreads: 1 });
const slices = headCtFiles().map((f) => readDicomSlice(fs.readFileSync(f)));
const pre: number[] = [];
const inputs = slices.map((s) => { const t = performance.now(); const x = preprocess(s, model.manifest.input); pre.push(performance.now() - t); return x; });
console.log('preprocess ms (cold→warm):', pre.map((x) => x.toFixed(1)).join(' '));
const run1 = async (x: Float32Array) => (await model.session.run({ input: new ort.Tensor('float32', x, [1, 1, 256, 256]) })).heatmap.data as Float32Array;
const singles: Float32Array[] = [];
for (const x of inputs) singles.push(await run1(x));
for (const B of [1, 2, 4, 7]) {
  const t = performance.now();
  let maxd = 0;
  for (let i = 0; i < inputs.length; i += B) {
    const n = Math.min(B, inputs.length - i);
    const buf = new Float32Array(n * 65536);
    for (let k = 0; k < n; k++) buf.set(inputs[i + k], k * 65536);
    const out = (await model.session.run({ input: new ort.Tensor('float32', buf, [n, 1, 256, 256]) })).heatmap.data as Float32Array;
    for (let k = 0; k < n; k++) for (let j = 0; j < 16384; j++) maxd = Math.max(maxd, Math.abs(out[k * 16384 + j] - singles[i + k][j]));
  }
  console.log(`batch ${B}: ${(performance.now() - t).toFixed(0)} ms for 28, max diff vs single ${maxd}`);
}
