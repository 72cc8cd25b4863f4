/** Every SR variant the project writes, judged by validators we did not write (../shared/tools/validate-sr --ai). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { DICOM, HEAD_CT_DIR, SHARED, mrSeriesFiles } from '../../../scripts/lib/demo-data.js';
import { parseDicomPart10, writeDicomPart10 } from './dicom.js';
import { buildMeasurementReport, studyFromDataset, type SrDocumentInput } from './writer.js';
import { sampleFindings, reviewedFindings, sampleMeasurements, DEMO_MODEL } from './testing.js';

const VALIDATE = path.join(SHARED, 'tools', 'validate-sr');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-validate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const load = (f: string) => parseDicomPart10(fs.readFileSync(f));
const SOURCES = {
  'ct': load(path.join(HEAD_CT_DIR, '05.dcm')),
  'enhanced-ct-multiframe': load(path.join(DICOM, 'pydicom-data', 'data_store', 'data', 'eCT_Supplemental.dcm')),
  'mr': load(mrSeriesFiles()[0]),
};

function write(name: string, input: SrDocumentInput): string {
  const file = path.join(tmp, `${name}.dcm`);
  fs.writeFileSync(file, writeDicomPart10(buildMeasurementReport(input)));
  return file;
}

function variants(): Record<string, string> {
  const files: Record<string, string> = {};
  let n = 1;
  for (const [name, src] of Object.entries(SOURCES)) {
    const frames = name.includes('multiframe') ? [1, 2] : undefined;
    const ai = sampleFindings(src, { frames });
    const base = { study: studyFromDataset(src), model: DEMO_MODEL, contentDateTime: '2026-11-25T10:00:00Z' };
    const aiUid = `2.25.9${n++}`;
    files[`${name}-ai`] = write(`${name}-ai`, { ...base, kind: 'ai', findings: ai, sopInstanceUID: aiUid, seriesInstanceUID: `2.25.8${n}` });
    files[`${name}-verified`] = write(`${name}-verified`, {
      ...base, kind: 'verified', findings: reviewedFindings(ai), sopInstanceUID: `2.25.9${n++}`, seriesInstanceUID: `2.25.7${n}`,
      signer: { name: 'Reader^Rita^^Dr.', organization: 'Demo Hospital', at: '2026-11-25T10:05:00Z' },
      predecessor: { seriesInstanceUID: `2.25.8${n - 1}`, sopInstanceUID: aiUid },
    });
  }
  // The signed report's text (TEXT items in TID 1500's Qualitative Evaluations), and its addendum: a new
  // verified SR whose predecessor is the signed one, with the corrected text.
  const src = SOURCES.ct;
  const reviewed = reviewedFindings(sampleFindings(src));
  const base = { study: studyFromDataset(src), model: DEMO_MODEL, kind: 'verified' as const, findings: reviewed };
  const signer = { name: 'Reader^Rita^^Dr.', organization: 'Demo Hospital', at: '2026-11-25T10:05:00Z' };
  const report = {
    findings: ['Acute intraparenchymal haemorrhage in the right frontal lobe, 12 mm.', 'No midline shift.'],
    impression: 'Acute right frontal intraparenchymal haemorrhage.',
  };
  files['ct-verified-report'] = write('ct-verified-report', { ...base, sopInstanceUID: '2.25.991', seriesInstanceUID: '2.25.992', contentDateTime: '2026-11-25T10:05:00Z', signer, report });
  files['ct-addendum'] = write('ct-addendum', {
    ...base, sopInstanceUID: '2.25.993', seriesInstanceUID: '2.25.994', contentDateTime: '2026-11-25T11:00:00Z',
    signer: { ...signer, at: '2026-11-25T11:00:00Z' },
    report: { findings: [...report.findings, 'ADDENDUM: small subdural collection along the falx, 3 mm.'], impression: report.impression },
    predecessor: { seriesInstanceUID: '2.25.992', sopInstanceUID: '2.25.991' },
  });
  // The radiologist's own measurements (length, angle, rectangle/ellipse ROIs, probe), with AI findings and alone.
  files['ct-verified-measurements'] = write('ct-verified-measurements', {
    ...base, sopInstanceUID: '2.25.995', seriesInstanceUID: '2.25.996', contentDateTime: '2026-11-25T10:05:00Z', signer, report, measurements: sampleMeasurements(src),
  });
  files['ct-verified-measurements-only'] = write('ct-verified-measurements-only', {
    ...base, findings: [], sopInstanceUID: '2.25.997', seriesInstanceUID: '2.25.998', contentDateTime: '2026-11-25T10:05:00Z', signer, measurements: sampleMeasurements(src),
  });
  return files;
}

describe('validate-sr --ai on every SR variant', () => {
  // One validator run for all files: each file still gets its own RESULT line, and the JVM starts once per tool.
  const files = variants();
  let out = '';
  let code = 0;
  beforeAll(() => {
    try {
      out = execFileSync(VALIDATE, ['--ai', ...Object.values(files)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      code = err.status;
      out = `${err.stdout}\n${err.stderr}`;
    }
  }, 900_000);
  it.each(Object.keys(files))('%s passes with zero errors', (name) => {
    expect(out, out).toContain(`RESULT: PASS (${files[name]})`);
    expect(out, out).not.toContain(`RESULT: FAIL (${files[name]})`);
  });
  it('the validator exits 0 overall', () => expect(code, out).toBe(0));
});
