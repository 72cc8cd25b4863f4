/**
 * Inference worker (node:worker_threads): fetches a series' pixels from Orthanc and runs the model
 * runtime's inferStudy (gateway/ai/runtime.ts: the same model files and pre/post-processing as the
 * browser) on them, so decoding and ONNX never block the gateway's request handling.
 * One job at a time per worker; the pool (pool.ts) gives it the next one.
 */
import { parentPort } from 'node:worker_threads';
import { inferStudy, type NodeSlice } from '../ai/runtime.js';
import { fetchSeriesSlices } from './slices.js';
import type { WorkerRequest, WorkerResponse } from './pool.js';

async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  const t0 = performance.now();
  try {
    const slices = await fetchSeriesSlices(req.orthanc, req.seriesId);
    const t1 = performance.now();
    // Orthanc hands us modality values already (rescale=true): slope 1, intercept 0.
    const input: NodeSlice[] = slices.map((s) => ({
      rows: s.rows,
      columns: s.columns,
      pixelData: s.pixels,
      slope: 1,
      intercept: 0,
      photometricInterpretation: s.photometricInterpretation,
      sopInstanceUID: s.sopInstanceUID,
      seriesInstanceUID: s.seriesInstanceUID,
      sopClassUID: s.sopClassUID,
    }));
    const out = await inferStudy({ manifestDir: req.manifestDir, studyInstanceUID: req.studyInstanceUID, slices: input, source: 'preread' });
    return {
      type: 'result',
      jobId: req.jobId,
      findings: out.findings,
      provider: out.provider,
      timings: { fetchMs: Math.round(t1 - t0), inferenceMs: Math.round(out.timings.inferenceMs), totalMs: Math.round(performance.now() - t0) },
    };
  } catch (e) {
    return { type: 'error', jobId: req.jobId, message: (e as Error).message ?? String(e) };
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req).then((res) => parentPort!.postMessage(res));
});
