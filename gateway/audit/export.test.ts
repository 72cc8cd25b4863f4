import { describe, expect, it } from 'vitest';
import { csvField, dicomEventFor, toCsv, toDicomAuditMessage, toExportRecords, pseudonym } from './export.js';
import type { AuditRecord } from './audit.js';

const row = (over: Partial<AuditRecord>): AuditRecord => ({ seq: 1, at: '2026-11-25T10:00:00.000Z', actor: 'rita', role: 'radiologist', action: 'login', outcome: 0, study_uid: null, finding_id: null, detail: null, prev_hash: '0'.repeat(64), hash: 'a'.repeat(64), mac: null, ...over });

describe('audit export', () => {
  it('drops free text from details and pseudonymises people (not models) when asked', () => {
    const [r] = toExportRecords([row({ detail: JSON.stringify({ reason: 'false-positive', note: 'Mr Smith looked unwell', nested: { comment: 'x', keep: 1 } }) })], { pseudonymiseActors: true, secret: 's' });
    expect(r.detail).toEqual({ reason: 'false-positive', nested: { keep: 1 } });
    expect(r.actor).toBe(pseudonym('rita', 's'));
    expect(r.actor).toMatch(/^user-[0-9a-f]{12}$/);
    const [m] = toExportRecords([row({ actor: 'model:head-ct@1.0' })], { pseudonymiseActors: true, secret: 's' });
    expect(m.actor).toBe('model:head-ct@1.0');
  });

  it('writes CSV that spreadsheets cannot execute and that round-trips quotes and commas', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
    const csv = toCsv(toExportRecords([row({})], { pseudonymiseActors: false, secret: 's' }));
    expect(csv.split('\r\n')[0]).toBe('seq,at,actor,role,action,outcome,studyUID,findingId,detail,hash,mac,verified');
    expect(csv.split('\r\n')[1]).toBe(`1,2026-11-25T10:00:00.000Z,rita,radiologist,login,0,,,,${'a'.repeat(64)},,`);
  });

  it('maps actions to DICOM audit event ids (PS3.15 A.5)', () => {
    expect(dicomEventFor('login').id.code).toBe('110114');
    expect(dicomEventFor('logout').type?.code).toBe('110123');
    expect(dicomEventFor('audit-exported').id.code).toBe('110106');
    expect(dicomEventFor('finding-shown').id.code).toBe('110103');
    expect(dicomEventFor('finding-accepted').actionCode).toBe('U');
    expect(dicomEventFor('inference-started').id.code).toBe('110103');
    expect(dicomEventFor('settings-changed').id.code).toBe('110113');
    expect(dicomEventFor('something-new').id.code).toBe('110100');
  });

  it('maps PHI reads: a retrieve is DICOM Instances Accessed (110103, R), a QIDO search a Query (110112, E)', () => {
    const msg = (detail: object, study: string | null) => toDicomAuditMessage(toExportRecords([row({ action: 'phi-read', study_uid: study, detail: JSON.stringify(detail) })], { pseudonymiseActors: false, secret: 's' })[0], 'src');
    for (const kind of ['opening', 'frames', 'series-metadata', 'study-metadata', 'rendered']) {
      const xml = msg({ kind }, '1.2.3');
      expect(xml, kind).toContain('<EventID csd-code="110103" codeSystemName="DCM" originalText="DICOM Instances Accessed"/>');
      expect(xml, kind).toContain('EventActionCode="R"');
    }
    for (const kind of ['qido-studies', 'qido-series', 'qido-in-study']) {
      const xml = msg({ kind, queryKeys: ['PatientID'] }, kind === 'qido-in-study' ? '1.2.3' : null);
      expect(xml, kind).toContain('<EventID csd-code="110112" codeSystemName="DCM" originalText="Query"/>');
      expect(xml, kind).toContain('EventActionCode="E"');
    }
    // A record whose detail is missing or odd is still a read, never a query.
    expect(dicomEventFor('phi-read').id.code).toBe('110103');
    expect(dicomEventFor('phi-read', { kind: 42 }).id.code).toBe('110103');
  });

  it('escapes XML and names the study as a participant object', () => {
    const [r] = toExportRecords([row({ actor: 'a"<b>&', action: 'finding-accepted', outcome: 4, study_uid: '1.2.3', finding_id: 'f-1' })], { pseudonymiseActors: false, secret: 's' });
    const xml = toDicomAuditMessage(r, 'src');
    expect(xml).toContain('UserID="a&quot;&lt;b&gt;&amp;"');
    expect(xml).toContain('EventOutcomeIndicator="4"');
    expect(xml).toContain('<ParticipantObjectIdentification ParticipantObjectID="1.2.3" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3">');
    expect(xml).toContain('csd-code="110180"');
  });
});
