import { describe, expect, it } from 'vitest';
import { FindingSchema } from '../findings/finding';
import { buildFhirReportBundle, dicomToIso, type FhirReportInput } from './diagnosticReport';
import { r4Validator } from './r4-validator';

const STUDY = '1.2.826.0.1.3680043.9.4245.1';
const v = { by: 'rita', role: 'radiologist', at: '2026-11-25T10:00:00Z' };
const base = {
  studyInstanceUID: STUDY, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial haemorrhage', confidence: 0.96, severity: 'critical',
  regions: [{ image: { seriesInstanceUID: '1.2.3.1', sopInstanceUID: '1.2.3.1.1' } }], model: { name: 'ich', version: '1.0.0', manufacturer: 'Demo' }, source: 'preread',
};
const accepted = FindingSchema.parse({ ...base, id: 'a', status: 'accepted', verdict: v, findingSite: { value: '12738006', scheme: 'SCT', meaning: 'Brain' }, measurements: [{ name: { value: '103355008', scheme: 'SCT', meaning: 'Width' }, value: 12, unit: { value: 'mm', scheme: 'UCUM', meaning: 'mm' } }] });
const rejected = FindingSchema.parse({ ...base, id: 'r', status: 'rejected', verdict: { ...v, reason: 'false-positive' } });
const own = FindingSchema.parse({ ...base, id: 'own', source: 'radiologist', status: 'accepted', verdict: v, label: 'Fracture', type: { value: '125605004', scheme: 'SCT', meaning: 'Fracture' } });
const unverified = FindingSchema.parse({ ...base, id: 'u' });

const input = (over: Partial<FhirReportInput> = {}): FhirReportInput => ({
  study: { studyInstanceUID: STUDY, patientId: 'P1', patientName: 'Doe^Jane', accession: 'ACC1', modalities: ['CT', 'SR'], description: 'HEAD', started: '2026-11-25T09:00:00Z', numberOfSeries: 2, numberOfInstances: 29 },
  findings: [accepted, rejected, own, unverified],
  model: { name: 'ich', version: '1.0.0', manufacturer: 'Demo' },
  reader: { username: 'rita', name: 'Reader^Rita' },
  signedAt: '2026-11-25T10:05:00Z',
  status: 'final',
  reportText: 'FINDINGS:\nAcute haemorrhage — right frontal.\n\nIMPRESSION:\nAcute bleed.',
  impression: 'Acute bleed.',
  ids: { report: '00000000-0000-4000-8000-000000000001', study: '00000000-0000-4000-8000-000000000002', device: '00000000-0000-4000-8000-000000000003', practitioner: '00000000-0000-4000-8000-000000000004', observations: { a: '00000000-0000-4000-8000-00000000000a', r: '00000000-0000-4000-8000-00000000000b', own: '00000000-0000-4000-8000-00000000000c', u: '00000000-0000-4000-8000-00000000000d' } },
  ...over,
});

type Entry = { fullUrl: string; resource: Record<string, any> };

describe('FHIR R4 results bundle', () => {
  it('validates against the official R4 definitions (bundle and every resource); a broken one does not', async () => {
    const validate = await r4Validator();
    const bundle = buildFhirReportBundle(input()) as { entry: Entry[] };
    expect(validate(bundle)).toEqual([]);
    for (const e of bundle.entry) expect(validate(e.resource), e.resource.resourceType).toEqual([]);
    // The validator is not a rubber stamp: a missing required element and an unknown one are errors.
    const report = bundle.entry[0].resource;
    expect(validate({ ...report, status: undefined })).not.toEqual([]);
    expect(validate({ ...report, verdict: 'x' })).not.toEqual([]);
  }, 60_000);

  it('checks code values against the official R4 value sets (required bindings), not only structure', async () => {
    const validate = await r4Validator();
    const bundle = buildFhirReportBundle(input()) as { entry: Entry[] };
    const report = bundle.entry[0].resource;
    const obs = bundle.entry.find((e) => e.resource.resourceType === 'Observation')!.resource;
    // Wrong status codes: structurally a string where a code goes, but not in diagnostic-report-status / observation-status.
    expect(validate({ ...report, status: 'signed' })).toEqual([expect.stringMatching(/DiagnosticReport\.status: code "signed" is not in the required value set diagnostic-report-status/)]);
    expect(validate({ ...obs, status: 'done' })).toEqual([expect.stringMatching(/Observation\.status: code "done" is not in the required value set observation-status/)]);
    // Nested codes of a hierarchical code system are in it ('corrected' is under 'amended'); a wrong one inside a bundle is caught too.
    expect(validate({ ...report, status: 'corrected' })).toEqual([]);
    const broken = { ...bundle, entry: bundle.entry.map((e, i) => (i === 0 ? { ...e, resource: { ...report, status: 'approved' } } : e)) };
    expect(validate(broken).join('\n')).toMatch(/code "approved" is not in the required value set diagnostic-report-status/);
    // Other required bindings: the bundle type and the request method.
    expect(validate({ ...bundle, type: 'batchy' }).join('\n')).toMatch(/bundle-type/);
  }, 60_000);

  it('one Observation per reported finding: AI ones name the Device, all the reader and the verdict; the report carries text and impression', () => {
    const bundle = buildFhirReportBundle(input()) as { type: string; entry: Entry[] };
    expect(bundle.type).toBe('transaction');
    const byType = (t: string) => bundle.entry.filter((e) => e.resource.resourceType === t);
    const [report] = byType('DiagnosticReport').map((e) => e.resource);
    const obs = byType('Observation').map((e) => e.resource);
    expect(obs).toHaveLength(3); // the unverified one is not part of the signed record
    expect(report.status).toBe('final');
    expect(report.result.map((r: { reference: string }) => r.reference)).toEqual(byType('Observation').map((e) => e.fullUrl));
    expect(report.imagingStudy[0].reference).toBe(byType('ImagingStudy')[0].fullUrl);
    expect(report.conclusion).toBe('Acute bleed.');
    expect(Buffer.from(report.presentedForm[0].data, 'base64').toString('utf8')).toContain('Acute haemorrhage — right frontal.');
    const [acc, rej, mine] = obs;
    expect(acc.device.reference).toBe(byType('Device')[0].fullUrl);
    expect(acc.valueCodeableConcept.coding[0].code).toBe('52101004');
    expect(rej.valueCodeableConcept.coding[0].code).toBe('2667000');
    expect(mine.device).toBeUndefined();
    for (const o of obs) expect(o.performer[0].reference).toBe(byType('Practitioner')[0].fullUrl);
    expect(acc.component.find((c: { code: { text?: string } }) => c.code.text === 'Radiologist verdict').valueCodeableConcept.coding[0].code).toBe('accepted');
    expect(byType('ImagingStudy')[0].resource.identifier[0]).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${STUDY}` });
    expect(byType('ImagingStudy')[0].resource.modality).toEqual([{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }]);
    const corrected = buildFhirReportBundle(input({ status: 'corrected' })) as { entry: Entry[] };
    expect(corrected.entry[0].resource.status).toBe('corrected');
  });

  it('dicom date/time to ISO', () => {
    expect(dicomToIso('20120215', '155018.367')).toBe('2012-02-15T15:50:18Z');
    expect(dicomToIso('20120215', '')).toBe('2012-02-15T00:00:00Z');
    expect(dicomToIso('', '1200')).toBeUndefined();
  });
});
