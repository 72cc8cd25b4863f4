/**
 * Demo: a study "arrives from the scanner". Builds a new head CT study from the shared GE head CT
 * slices (../shared/data, copied to a temp dir, never into the repo) with new Study/Series/SOP
 * Instance UIDs via DCMTK dcmodify, paints in the head CT model's committed held-out SYNTHETIC
 * hyperdensities (models/head-ct-hyperdensity/heldout.json) unless --no-lesions, and sends it with
 * DCMTK storescu (C-STORE) to Orthanc's DICOM port, as a modality would. The gateway's pre-read picks
 * it up from Orthanc's change feed; the open worklist re-orders live.
 *
 *   npx tsx scripts/demo-arrival.ts [--host 127.0.0.1] [--port 4242] [--aet RSPACS] [--age 045Y]
 *        [--no-lesions] [--delay ms] [--watch http://127.0.0.1:8080]
 *
 * --watch logs in as the demo radiologist and prints the arrival → flag latency.
 */
import { buildHeadCtStudy, cStore } from '../gateway/preread/study-builder.js';
import { login } from '../test/harness.js';

function arg(name: string, d?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const host = arg('host', '127.0.0.1')!;
const port = Number(arg('port', process.env.ORTHANC_DICOM_PORT ?? '4242'));
const aet = arg('aet', 'RSPACS')!;
const age = arg('age', '045Y')!;
const delay = Number(arg('delay', '0'));
const watch = arg('watch');
if (!Number.isInteger(port) || port <= 0) throw new Error(`--port must be a TCP port, got ${arg('port')}`);
if (!/^\d{3}[DWMY]$/.test(age)) throw new Error(`--age must be a DICOM age like 045Y, got ${age}`);

if (delay > 0) await new Promise((r) => setTimeout(r, delay));
const study = await buildHeadCtStudy({ patientAge: age, lesions: !flag('no-lesions') });
try {
  console.log(`[demo-arrival] built study ${study.studyInstanceUID} (${study.files.length} slices of the shared GE head CT, new UIDs${flag('no-lesions') ? '' : ', synthetic held-out hyperdensities painted in'}, PatientAge ${age})`);
  const t0 = Date.now();
  await cStore(study.files, { host, port, aet });
  console.log(`[demo-arrival] C-STORE to ${aet}@${host}:${port} done in ${Date.now() - t0} ms`);
  if (watch) {
    const rita = await login(watch, 'rita');
    const deadline = Date.now() + 180_000;
    for (;;) {
      const t = await rita.json<{ studies: Record<string, { priority: string; reason: string; aiState: string }> }>('/api/triage');
      const s = t.studies[study.studyInstanceUID];
      if (s && ['done', 'failed', 'skipped', 'disabled'].includes(s.aiState)) {
        console.log(`[demo-arrival] flagged ${s.priority} (${s.reason}), AI ${s.aiState}, ${Date.now() - t0} ms after the send began`);
        break;
      }
      if (Date.now() > deadline) {
        console.log(`[demo-arrival] no flag within 180 s (AI state: ${s?.aiState ?? 'not seen yet'})`);
        process.exitCode = 1;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
} finally {
  study.remove();
}
