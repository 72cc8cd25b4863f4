/**
 * Inference worker (node:worker_threads): reads one instance's pixels from Orthanc and runs the model
 * runtime on it (gateway/ai/runtime.ts: the same model files and pre/post-processing as the browser),
 * with the domain guard's per-slice statistics (src/core/ai/domain.ts), so decoding and ONNX never
 * block the gateway's request handling. One instance at a time per worker; the pool gives it the next.
 * Cross-slice linking is not done here: the queue links the stored per-slice outputs of a series.
 */
import { parentPort } from 'node:worker_threads';
import { loadModel, runModelOnSlices, type NodeSlice } from '../ai/runtime.js';
import { sliceStats } from '../../src/core/ai/domain.js';
import { sliceIntensityHistogram } from '../../src/core/governance/drift.js';
import { fetchInstanceSlice } from './slices.js';
import type { WorkerRequest, WorkerResponse } from './pool.js';

async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  const t0 = performance.now();
  try {
    const model = await loadModel(req.manifestDir);
    const s = await fetchInstanceSlice(req.orthanc, req.instanceId);
    const t1 = performance.now();
    // Orthanc hands us modality values already (rescale=true): slope 1, intercept 0.
    const input: NodeSlice = {
      rows: s.rows,
      columns: s.columns,
      pixelData: s.pixels,
      slope: 1,
      intercept: 0,
      photometricInterpretation: s.photometricInterpretation,
      sopInstanceUID: s.sopInstanceUID,
      seriesInstanceUID: s.seriesInstanceUID,
      sopClassUID: s.sopClassUID,
    };
    const { results, timings } = await runModelOnSlices(model, [input]);
    const guard = model.manifest.domain.intensity;
    return {
      type: 'result',
      jobId: req.jobId,
      slice: {
        image: results[0].image as { seriesInstanceUID: string; sopInstanceUID: string; sopClassUID?: string },
        columns: s.columns,
        rows: s.rows,
        detections: results[0].detections,
        stats: guard ? sliceStats(s.pixels, guard) : null,
        huHistogram: sliceIntensityHistogram(model.manifest.indication.modalities, s.rescaleType, s.pixels), // governance drift (kept with the slice's output)
        values: { rescaleType: s.rescaleType, units: s.units },
        instanceNumber: s.instanceNumber,
        imagePositionPatient: s.imagePositionPatient,
        imageOrientationPatient: s.imageOrientationPatient,
      },
      provider: model.provider,
      timings: { fetchMs: Math.round(t1 - t0), inferenceMs: Math.round(timings.inferenceMs), totalMs: Math.round(performance.now() - t0) },
    };
  } catch (e) {
    return { type: 'error', jobId: req.jobId, message: (e as Error).message ?? String(e) };
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req).then((res) => parentPort!.postMessage(res));
});
