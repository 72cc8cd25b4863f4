/** Every HL7 message the project writes, parsed by python-hl7 (../shared/tools/hl7-parse), not by our own codec. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, it, expect, afterAll } from 'vitest';
import { SHARED } from '../../../scripts/lib/demo-data.js';
import { FindingSchema } from '../findings/finding.js';
import { buildOru } from './oru.js';
import { buildAck } from './ack.js';

const HL7_PARSE = path.join(SHARED, 'tools', 'hl7-parse');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hl7-parse-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const MODEL = { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' };
const ai = FindingSchema.parse({
  id: 'ICH-1', studyInstanceUID: STUDY, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Bleed | left ^ & ~ \\',
  confidence: 0.93, severity: 'critical', regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4', frameNumber: 2 }, polygon: [[1, 2], [3, 4], [5, 1]] }], model: MODEL, source: 'preread',
  findingSite: { value: '12738006', scheme: 'SCT', meaning: 'Brain' },
});
const verdict = { by: 'rita', at: '2026-11-25T10:04:00Z' };
const signer = { id: 'rita', name: 'Reader^Rita^^Dr.', at: '2026-11-25T10:05:00Z' };
const base = { at: '2026-11-25T10:00:00Z', accession: 'ACC-1', studyInstanceUID: STUDY, patient: { id: 'PAT-1', name: 'Doe^Jane' }, model: MODEL };

const messages: Record<string, string> = {
  'oru-preliminary': buildOru({ ...base, controlId: 'C-P', status: 'P', findings: [ai], priority: 'critical' }),
  'oru-final': buildOru({ ...base, controlId: 'C-F', status: 'F', findings: [{ ...ai, status: 'accepted', verdict }], signer, reportText: 'Acute bleed | left ^ parietal.\nNo shift.' }),
  // The signed report: one OBX TX per line and the impression (issue 16), and its addendum as a corrected result.
  'oru-final-report': buildOru({ ...base, controlId: 'C-FR', status: 'F', findings: [{ ...ai, status: 'accepted', verdict }], signer,
    reportText: 'FINDINGS:\nAcute haemorrhage | right frontal, 12 mm.\n\nIMPRESSION:\nAcute bleed.', impression: 'Acute bleed.' }),
  'oru-corrected-addendum': buildOru({ ...base, controlId: 'C-CA', status: 'C', findings: [{ ...ai, status: 'accepted', verdict }], signer,
    reportText: 'FINDINGS:\nAcute haemorrhage.\n\nADDENDUM:\nSmall subdural collection, 3 mm.', impression: 'Acute bleed.' }),
  'oru-corrected': buildOru({ ...base, controlId: 'C-C', status: 'C', findings: [{ ...ai, status: 'rejected', verdict: { ...verdict, reason: 'artefact' } }], signer, reportText: 'Corrected: no bleed.' }),
  'ack-aa': buildAck({ code: 'AA', controlId: 'C-P', ackControlId: 'A-1', at: '2026-11-25T10:00:01Z' }),
  'ack-ae': buildAck({ code: 'AE', controlId: 'X-9', ackControlId: 'A-2', at: '2026-11-25T10:00:01Z', text: 'PID-3 empty | bad', error: { segment: 'PID', field: 3, hl7Code: '101' } }),
};

describe('hl7-parse (python-hl7) accepts every message we write', () => {
  it.each(Object.keys(messages))('%s', (name) => {
    const file = path.join(tmp, `${name}.hl7`);
    fs.writeFileSync(file, messages[name]);
    const out = execFileSync(HL7_PARSE, [file], { encoding: 'utf8' });
    expect(out).toMatch(/control id: \S+/);
    if (name.startsWith('oru')) {
      expect(out).toContain('type: ORU^R01^ORU_R01 version: 2.5');
      expect(out).toContain('ORC-1 = RE');
      expect(out).toContain('OBR-3 = ACC-1');
      expect(out).toContain(`OBR-25 = ${name.endsWith('preliminary') ? 'P' : name.includes('final') ? 'F' : 'C'}`);
      // escaped delimiters arrive as escapes, not as structure
      if (!name.startsWith('oru-corrected')) expect(out).toMatch(/Bleed \\F\\ left \\S\\ \\T\\ \\R\\ \\E\\/);
    } else {
      expect(out).toMatch(/MSA-1 = A[AE]/);
    }
  });
});
