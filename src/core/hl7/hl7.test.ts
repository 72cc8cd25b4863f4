import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { SHARED } from '../../../scripts/lib/demo-data.js';
import { escapeValue, unescapeValue, parseMessage, parseBatch, get, segmentsNamed, segment, message, Hl7Error, type FieldValue } from './codec.js';
import { buildOru, type OruInput } from './oru.js';
import { buildAck, parseAck, headerOf } from './ack.js';
import { parseInbound, ORDER_LIMITS } from './orders.js';
import { FindingSchema, type Finding } from '../findings/finding.js';

const HL7_DIR = path.join(SHARED, 'data', 'hl7', 'python-hl7');
const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const IMG = { seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5', sopClassUID: '1.2.840.10008.5.1.4.1.1.2' };
const MODEL = { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' };
const finding = (over: Partial<Finding> = {}): Finding =>
  FindingSchema.parse({
    id: 'ICH-1', studyInstanceUID: STUDY, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Bleed | left ^ parietal & more ~ \\ x',
    confidence: 0.93, severity: 'critical', regions: [{ image: IMG, box: { x: 10, y: 20, width: 30, height: 40 } }], model: MODEL, source: 'preread',
    findingSite: { value: '12738006', scheme: 'SCT', meaning: 'Brain' }, ...over,
  });
export const oruInput = (over: Partial<OruInput> = {}): OruInput => ({
  controlId: 'RS-ORU-0001', at: '2026-11-25T10:00:00Z', status: 'P', accession: 'ACC-1001', studyInstanceUID: STUDY,
  patient: { id: 'PAT-1', name: 'Doe^Jane' }, findings: [finding()], model: MODEL, priority: 'critical', ...over,
});
const SIGNER = { id: 'rita', name: 'Reader^Rita^^Dr.', at: '2026-11-25T10:05:00Z' };

describe('escaping', () => {
  it('escapes and unescapes every delimiter and the escape character itself', () => {
    const s = 'a|b^c&d~e\\f';
    expect(escapeValue(s)).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
    expect(unescapeValue(escapeValue(s))).toBe(s);
    expect(unescapeValue('line1\\.br\\line2\\X41\\')).toBe('line1\nline2A');
  });
  it('a value with delimiters survives a segment round trip in its field', () => {
    const text = message([segment('MSH', ['A', 'B', 'C', 'D', '20260101', null, ['ADT', 'A01'], 'X1', 'P', '2.5']), segment('NTE', [1, null, 'x|y^z&w~v\\u'])]);
    const m = parseMessage(text);
    expect(get(m, 'NTE', 3)).toBe('x|y^z&w~v\\u');
    expect(text.endsWith('\r')).toBe(true);
    expect(text.split('\r').filter(Boolean)).toHaveLength(2);
  });
});

describe('ORU^R01 builder', () => {
  it('preliminary AI result: header, ORC RE, OBR accession and P, OBX per item with model and version', () => {
    const text = buildOru(oruInput());
    const m = parseMessage(text);
    expect(get(m, 'MSH', 9, 1) + '^' + get(m, 'MSH', 9, 2) + '^' + get(m, 'MSH', 9, 3)).toBe('ORU^R01^ORU_R01');
    expect(get(m, 'MSH', 10)).toBe('RS-ORU-0001');
    expect(get(m, 'MSH', 12)).toBe('2.5');
    expect(get(m, 'ORC', 1)).toBe('RE');
    expect(get(m, 'OBR', 3)).toBe('ACC-1001');
    expect(get(m, 'OBR', 25)).toBe('P');
    const obx = segmentsNamed(m, 'OBX');
    const byCode = (c: string) => obx.filter((s) => get(m, s, 3, 1) === c);
    expect(get(m, byCode('RS-AI-PRIORITY')[0], 5)).toBe('critical');
    expect(get(m, byCode('RS-AI-SUMMARY')[0], 5)).toContain('Bleed | left ^ parietal & more ~ \\ x (93%, critical, unverified)');
    const f = byCode('RS-AI-FINDING')[0];
    expect([get(m, f, 5, 1), get(m, f, 5, 3)]).toEqual(['1386000', 'SCT']);
    expect(get(m, f, 4)).toBe('1');
    expect(get(m, byCode('RS-AI-CONFIDENCE')[0], 5)).toBe('93');
    expect(get(m, byCode('363698007')[0], 5, 2)).toBe('Brain');
    expect(get(m, byCode('RS-AI-REGION')[0], 5)).toBe('image 1.2.3.4.5 box x=10 y=20 w=30 h=40');
    for (const s of obx) {
      expect(get(m, s, 11)).toBe('P');
    }
    expect(get(m, f, 17, 1)).toBe('ich-detector');
    expect(get(m, f, 18, 1)).toBe('ich-detector-1.2.0');
    // local codes say so; LOINC is used only for real LOINC codes
    for (const s of obx) expect(['L', 'SCT', 'LN']).toContain(get(m, s, 3, 3));
  });

  it('F is never built without a recorded sign-off', () => {
    const reviewed = [finding({ status: 'accepted', verdict: { by: 'rita', at: '2026-11-25T10:04:00Z' } })];
    expect(() => buildOru(oruInput({ status: 'F', findings: reviewed }))).toThrow(/needs a recorded radiologist sign-off/);
    expect(() => buildOru(oruInput({ status: 'C', findings: reviewed }))).toThrow(Hl7Error);
    expect(() => buildOru(oruInput({ status: 'F', findings: reviewed, signer: { ...SIGNER, at: 'yesterday' } }))).toThrow(/sign-off/);
    expect(() => buildOru(oruInput({ status: 'F', findings: [finding()], signer: SIGNER }))).toThrow(/unreviewed/);
    const text = buildOru(oruInput({ status: 'F', findings: reviewed, signer: SIGNER, reportText: 'Findings:\nacute bleed.' }));
    const m = parseMessage(text);
    expect(get(m, 'OBR', 25)).toBe('F');
    expect(get(m, 'OBR', 32, 1, 1, 1)).toBe('rita');
    // One OBX TX per report line, in order; the impression in its own OBX (LOINC 19005-8).
    const lines = segmentsNamed(m, 'OBX').filter((s) => get(m, s, 3, 1) === '18782-3');
    expect(lines.map((s) => get(m, s, 5))).toEqual(['Findings:', 'acute bleed.']);
    expect(lines.every((s) => get(m, s, 2) === 'TX' && get(m, s, 11) === 'F')).toBe(true);
    expect(get(m, lines[0], 3, 3)).toBe('LN');
    const withImpression = parseMessage(buildOru(oruInput({ status: 'F', findings: reviewed, signer: SIGNER, reportText: 'a\n\nb', impression: 'Acute bleed.' })));
    expect(segmentsNamed(withImpression, 'OBX').filter((s) => get(withImpression, s, 3, 1) === '18782-3').map((s) => get(withImpression, s, 5))).toEqual(['a', ' ', 'b']);
    const imp = segmentsNamed(withImpression, 'OBX').find((s) => get(withImpression, s, 3, 1) === '19005-8')!;
    expect(get(withImpression, imp, 5)).toBe('Acute bleed.');
    expect(segmentsNamed(m, 'OBX').find((s) => get(m, s, 3, 1) === 'RS-VERDICT')).toBeTruthy();
  });

  it('refuses a message without accession or patient id, naming the field', () => {
    expect(() => buildOru(oruInput({ accession: '' }))).toThrow(/OBR-3/);
    expect(() => buildOru(oruInput({ patient: { id: '' } }))).toThrow(/PID-3/);
  });
});

describe('ACK', () => {
  it('builds and parses AA/AE/AR with MSA-2 = the received MSH-10 and a reason', () => {
    const oru = buildOru(oruInput());
    const hdr = headerOf(oru);
    const aa = buildAck({ code: 'AA', controlId: hdr.controlId!, ackControlId: 'ACK1', at: '2026-11-25T10:00:01Z', received: hdr });
    expect(parseAck(aa)).toMatchObject({ code: 'AA', controlId: 'RS-ORU-0001' });
    const m = parseMessage(aa);
    expect(get(m, 'MSH', 3)).toBe('RIS');
    expect(get(m, 'MSH', 5)).toBe('READING_STATION');
    const ae = buildAck({ code: 'AE', controlId: 'X', ackControlId: 'ACK2', at: new Date(), text: 'PID-3 missing', error: { segment: 'PID', field: 3, hl7Code: '101' } });
    expect(parseAck(ae)).toMatchObject({ code: 'AE', controlId: 'X', text: 'PID-3 missing', error: 'PID-3 missing', errorCode: '101', errorLocation: 'PID-3' });
    // A receiver's words may quote the patient; the code and the position are what a log may keep.
    const ar = buildAck({ code: 'AR', controlId: 'Y', ackControlId: 'ACK3', at: new Date(), text: 'Patient Fakename^Patricia unknown', error: { segment: 'PID', hl7Code: '204' } });
    expect(parseAck(ar)).toMatchObject({ code: 'AR', errorCode: '204', errorLocation: 'PID' });
    expect(() => parseAck(message([segment('MSH', ['A', 'B', 'C', 'D', '2026', null, ['ACK'], 'Z', 'P', '2.5'])]))).toThrow(/MSA/);
  });
});

/** The Hl7Error a call throws (fails the test if it throws nothing else). */
function catchHl7(fn: () => unknown): Hl7Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Hl7Error) return e;
    throw e;
  }
  throw new Error('no Hl7Error thrown');
}

/** OBR fields by their HL7 number. */
function obrFields(byNumber: Record<number, FieldValue>): FieldValue[] {
  const max = Math.max(...Object.keys(byNumber).map(Number));
  return Array.from({ length: max }, (_, i) => byNumber[i + 1] ?? null);
}

describe('inbound orders and python-hl7 sample files', () => {
  it('parses the good sample files (single messages and batches)', () => {
    for (const f of fs.readdirSync(HL7_DIR).filter((f) => f.endsWith('.hl7') && !f.startsWith('sample_bad_'))) {
      const msgs = parseBatch(fs.readFileSync(path.join(HL7_DIR, f), 'utf8'));
      expect(msgs.length, f).toBeGreaterThan(0);
      for (const m of msgs) expect(get(m, 'MSH', 10), f).not.toBe('');
    }
  });

  it('rejects every sample_bad_* file with a specific reason', () => {
    const bad = fs.readdirSync(HL7_DIR).filter((f) => f.startsWith('sample_bad_'));
    expect(bad.length).toBe(6);
    const reasons: Record<string, string> = {};
    for (const f of bad) {
      const text = fs.readFileSync(path.join(HL7_DIR, f), 'utf8');
      expect(() => parseBatch(text), f).toThrow(Hl7Error);
      expect(() => parseInbound(text), f).toThrow(Hl7Error);
      try {
        parseBatch(text);
      } catch (e) {
        reasons[f] = (e as Error).message;
      }
    }
    expect(reasons['sample_bad_batch.hl7']).toMatch(/outside a message|no MSH/);
    expect(reasons['sample_bad_batch1.hl7']).toMatch(/BHS inside an open batch/);
    expect(reasons['sample_bad_file2.hl7']).toMatch(/FHS inside/);
    for (const r of Object.values(reasons)) expect(r.length).toBeGreaterThan(10);
  });

  it('ORM^O01: accession, indication, priority, ordering physician', () => {
    const text = message([
      segment('MSH', ['RIS', 'HOSP', 'READING_STATION', 'RS', '20261125100000', null, ['ORM', 'O01', 'ORM_O01'], 'ORM-1', 'P', '2.5']),
      segment('PID', [1, null, ['PAT-9'], null, ['Doe', 'John']]),
      segment('ORC', ['NW', 'PL-1', 'ACC-77', null, null, null, [null, null, null, null, null, 'S'], null, null, null, null, ['1234', 'House', 'Greg', null, null, 'Dr']]),
      segment('OBR', obrFields({ 1: 1, 2: 'PL-1', 3: 'ACC-77', 4: ['CTHEAD', 'CT head without contrast', 'L'], 13: 'fall, GCS 13', 18: 'ACC-77', 31: [null, 'Head trauma, rule out bleed'] })),
    ]);
    const r = parseInbound(text);
    expect(r).toMatchObject({ kind: 'order', messageType: 'ORM^O01', controlId: 'ORM-1' });
    if (r.kind !== 'order') throw new Error();
    expect(r.orders[0]).toMatchObject({ accession: 'ACC-77', priority: 'stat', orderingPhysician: 'Dr Greg House (1234)', clinicalIndication: 'Head trauma, rule out bleed', orderControl: 'NW', patientId: 'PAT-9' });
  });

  it('OMI^O23 with IPC: accession and Study Instance UID from IPC', () => {
    const text = message([
      segment('MSH', ['RIS', 'HOSP', 'RS', 'RS', '20261125100000', null, ['OMI', 'O23', 'OMI_O23'], 'OMI-1', 'P', '2.5']),
      segment('PID', [1, null, ['PAT-9']]),
      segment('ORC', ['NW', 'PL-2']),
      segment('TQ1', [1, null, null, null, null, null, null, null, 'A']),
      segment('OBR', [1, 'PL-2', null, ['CTHEAD', 'CT head', 'L']]),
      segment('IPC', ['ACC-88', 'REQ-1', '1.2.3.4.5.6', 'SPS-1', 'CT']),
    ]);
    const r = parseInbound(text);
    if (r.kind !== 'order') throw new Error('not an order');
    expect(r.orders[0]).toMatchObject({ accession: 'ACC-88', studyInstanceUID: '1.2.3.4.5.6', priority: 'asap' });
  });

  it('an order without an accession or with a bad study UID is rejected naming the field', () => {
    const base = [segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C1', 'P', '2.5']), segment('PID', [1, null, ['PAT-1']]), segment('ORC', ['NW'])];
    expect(() => parseInbound(message([...base, segment('OBR', [1])]))).toThrow(/no accession number/);
    expect(() => parseInbound(message([...base.slice(0, 2), segment('ORC', ['NW', null, 'A1']), segment('ZDS', ['not-a-uid'])]))).toThrow(/ZDS-1 Study Instance UID is not a DICOM UID/);
    expect(() => parseInbound(message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['MDM', 'T02'], 'C2', 'P', '2.5'])]))).toThrow(/unsupported message type MDM\^T02/);
    // ORU^R01 is taken (a prior's report from the RIS), but only with PID, an accession and text.
    expect(() => parseInbound(message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORU', 'R01'], 'C2', 'P', '2.5'])]))).toThrow(/ORU without PID/);
    const oru = parseInbound(message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORU', 'R01'], 'C3', 'P', '2.5']), segment('PID', [1, null, ['P1']]), segment('OBR', ['1', null, 'ACC-9']), segment('OBX', ['1', 'TX', ['18782-3', 'x', 'LN'], '1', 'Line one.']), segment('OBX', ['2', 'NM', ['x', 'y', 'L'], '1', '5']), segment('OBX', ['3', 'TX', ['19005-8', 'x', 'LN'], '1', 'Impression.'])]));
    expect(oru).toMatchObject({ kind: 'report', report: { patientId: 'P1', accession: 'ACC-9', status: 'F', text: 'Line one.\nImpression.' } });
    expect(() => parseInbound(message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ADT', 'A01'], '', 'P', '2.5'])]))).toThrow(/MSH-10/);
  });

  it('an order without PID (or with an empty PID-3) is refused naming the segment', () => {
    const msh = segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C1', 'P', '2.5']);
    const order = [segment('ORC', ['NW', 'PL-1', 'ACC-1']), segment('OBR', [1, 'PL-1', 'ACC-1'])];
    const noPid = catchHl7(() => parseInbound(message([msh, ...order])));
    expect(noPid).toMatchObject({ message: 'ORM: required segment PID missing', segment: 'PID', hl7Code: '100' });
    const emptyPid3 = catchHl7(() => parseInbound(message([msh, segment('PID', [1, null, null, null, ['Doe', 'John']]), ...order])));
    expect(emptyPid3).toMatchObject({ segment: 'PID', field: 3, hl7Code: '101' });
    const omi = segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['OMI', 'O23'], 'C2', 'P', '2.5']);
    expect(catchHl7(() => parseInbound(message([omi, segment('ORC', ['NW']), segment('IPC', ['ACC-2'])])))).toMatchObject({ segment: 'PID' });
    expect(parseInbound(message([msh, segment('PID', [1, null, ['PAT-1']]), ...order]))).toMatchObject({ kind: 'order', orders: [{ patientId: 'PAT-1', accession: 'ACC-1' }] });
  });

  it('identifiers over their limit are refused naming segment and field; free text over its limit is truncated and noted', () => {
    const msh = segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C1', 'P', '2.5']);
    const pid = segment('PID', [1, null, ['PAT-1']]);
    const long = (n: number) => 'X'.repeat(n);
    const cases: [string, ReturnType<typeof segment>[], string, number][] = [
      ['accession (OBR-18)', [pid, segment('ORC', ['NW']), segment('OBR', obrFields({ 1: 1, 18: long(65) }))], 'OBR', 18],
      ['accession (ORC-3)', [pid, segment('ORC', ['NW', null, long(65)])], 'ORC', 3],
      ['patient id', [segment('PID', [1, null, [long(65)]]), segment('ORC', ['NW', null, 'A1'])], 'PID', 3],
      ['placer order', [pid, segment('ORC', ['NW', long(65), 'A1'])], 'ORC', 2],
      ['order control', [pid, segment('ORC', ['NWX', null, 'A1'])], 'ORC', 1],
      ['study UID', [pid, segment('ORC', ['NW', null, 'A1']), segment('ZDS', ['1.' + '2'.repeat(70)])], 'ZDS', 1],
      ['procedure code', [pid, segment('ORC', ['NW', null, 'A1']), segment('OBR', [1, null, null, [long(65), 'x', 'L']])], 'OBR', 4],
    ];
    for (const [what, segs, seg, field] of cases) {
      const e = catchHl7(() => parseInbound(message([msh, ...segs])));
      expect(e, what).toMatchObject({ segment: seg, field, hl7Code: '102' });
      expect(e.message, what).toMatch(new RegExp(`^${seg}-${field} .* longer than \\d+ characters$`));
      expect(e.message, what).not.toContain('XXXX');
    }
    const r = parseInbound(message([msh, pid, segment('ORC', ['NW', 'PL-1', 'A1', null, null, null, null, null, null, null, null, [null, 'Dr ' + long(300)]]), segment('OBR', obrFields({ 1: 1, 4: ['CTH', 'T'.repeat(500), 'L'], 31: [null, 'I'.repeat(5000)] }))]));
    if (r.kind !== 'order') throw new Error('not an order');
    expect(r.orders[0].clinicalIndication).toHaveLength(ORDER_LIMITS.clinicalIndication);
    expect(r.orders[0].orderingPhysician!.length).toBe(ORDER_LIMITS.orderingPhysician);
    expect(r.orders[0].procedure!.text).toHaveLength(ORDER_LIMITS.procedureText);
    expect(r.truncated).toEqual(['OBR-31 clinical indication truncated to 1000 characters', 'ORC-12 ordering provider truncated to 200 characters', 'OBR-4 procedure text truncated to 200 characters']);
  });

  it('parse errors name positions, never the content of the message', () => {
    const NAME = 'Fakename^Patricia';
    const msh = segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C1', 'P', '2.5']);
    const texts = [
      // a wrapped line: the name alone on a line that is no segment
      `${msh}\rPID|1||PAT-1\r${NAME}||x\r`,
      `${NAME}|PID\r`,
      // a name where the study UID belongs
      message([msh, segment('PID', [1, null, ['PAT-1'], null, NAME]), segment('ORC', ['NW', null, 'A1']), segment('ZDS', [NAME])]),
      // a name where the accession belongs, too long to store
      message([msh, segment('PID', [1, null, ['PAT-1']]), segment('ORC', ['NW', null, NAME.repeat(10)])]),
      // MSH whose encoding characters run into the name
      `MSH|${NAME}\r`,
      `FHS|^~\\&\r${NAME}|x\rMSH|^~\\&|A\r`,
    ];
    for (const t of texts) {
      const e = catchHl7(() => (t.startsWith('FHS') ? parseBatch(t) : parseInbound(t)));
      expect(e.message, t).not.toMatch(/Fakename|Patricia/);
    }
  });

  it('ADT from the samples parses as a patient event', () => {
    const text = fs.readFileSync(path.join(HL7_DIR, 'sample_msh.hl7'), 'utf8');
    const first = parseBatch(text)[0];
    expect(get(first, 'MSH', 9, 1)).toBeTruthy();
  });
});
