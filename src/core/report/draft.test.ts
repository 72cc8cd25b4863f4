import { describe, expect, it } from 'vitest';
import { FindingSchema, type Finding } from '../findings/finding';
import { addComparisonLines, acceptAll, acceptLine, addLine, draftFromFindings, editLine, isAiSuggested, parseDraft, pendingAiLines, refreshDraft, removeLine, reportParts, reportPlainText } from './draft';
import { templateFor } from './templates';

const STUDY = '1.2.3';
const v = { by: 'rita', role: 'radiologist', at: '2026-11-25T10:00:00Z' };
const f = (over: Partial<Finding> & { id: string }): Finding =>
  FindingSchema.parse({
    studyInstanceUID: STUDY, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial haemorrhage', confidence: 0.96, severity: 'critical',
    regions: [{ image: { seriesInstanceUID: '1.2.3.1', sopInstanceUID: '1.2.3.1.1' } }], model: { name: 'ich', version: '1', manufacturer: 'Demo' }, source: 'preread',
    ...over,
  });

describe('report draft', () => {
  const accepted = f({ id: 'a', status: 'accepted', verdict: v, findingSite: { value: '12738006', scheme: 'SCT', meaning: 'Brain' }, measurements: [{ name: { value: '103355008', scheme: 'SCT', meaning: 'Width' }, value: 12.04, unit: { value: 'mm', scheme: 'UCUM', meaning: 'millimeter' } }] });
  const rejected = f({ id: 'r', status: 'rejected', verdict: v });
  const unverified = f({ id: 'u' });
  const own = f({ id: 'own', source: 'radiologist', status: 'accepted', verdict: v, label: 'Skull fracture', type: { value: '125605004', scheme: 'SCT', meaning: 'Fracture' }, severity: 'urgent' });

  it('drafts from accepted and modified findings only; AI-derived lines are AI-suggested, the radiologist\'s own are not', () => {
    const d = draftFromFindings([accepted, rejected, unverified, own], 'head-ct-haemorrhage');
    expect(d.findings.map((l) => l.findingId)).toEqual(['a', 'own']);
    expect(d.findings[0]).toMatchObject({ origin: 'ai', accepted: false, text: 'Hyperdense collection in keeping with acute intracranial haemorrhage (Brain), 12 mm.' });
    expect(d.findings[1]).toMatchObject({ origin: 'radiologist', accepted: true, text: 'Skull fracture.' });
    expect(d.measurements).toEqual([{ findingId: 'a', finding: 'Intracranial haemorrhage', name: 'Width', value: 12.04, unit: 'mm', origin: 'ai' }]);
    expect(d.impression).toMatchObject({ origin: 'ai', accepted: false });
    expect(d.impression.text).toBe('Findings in keeping with Intracranial haemorrhage (critical); Skull fracture.');
    expect(pendingAiLines(d).map((l) => l.id)).toEqual(['f:a', 'impression']);
    expect(parseDraft(d)).toEqual({ ok: true, value: d });
  });

  it('no finding: the template\'s normal text, not marked AI', () => {
    const d = draftFromFindings([rejected, unverified], 'head-ct-haemorrhage');
    expect(d.findings.map((l) => l.origin)).toEqual(['template', 'template', 'template']);
    expect(d.impression.text).toBe('No acute intracranial abnormality.');
    expect(pendingAiLines(d)).toEqual([]);
  });

  it('accept and edit end the AI marking; an edit makes the line the radiologist\'s; free text is added', () => {
    let d = draftFromFindings([accepted], 'generic');
    d = acceptLine(d, 'f:a');
    expect(isAiSuggested(d.findings[0])).toBe(false);
    expect(d.findings[0].origin).toBe('ai');
    d = editLine(d, 'impression', 'Acute bleed.');
    expect(d.impression).toMatchObject({ origin: 'radiologist', accepted: true, text: 'Acute bleed.' });
    d = addLine(d, 'No midline shift.', 'r:1');
    expect(d.findings.map((l) => l.text)).toEqual(['Intracranial haemorrhage (Brain), 12 mm.', 'No midline shift.']);
    expect(pendingAiLines(d)).toEqual([]);
    expect(removeLine(d, 'r:1').findings).toHaveLength(1);
    expect(pendingAiLines(acceptAll(draftFromFindings([accepted], 'generic')))).toEqual([]);
  });

  it('refresh keeps the radiologist\'s lines and adds a newly accepted finding', () => {
    let d = addLine(draftFromFindings([], 'generic'), 'Mine.', 'r:1');
    d = refreshDraft(d, [accepted]);
    expect(d.findings.map((l) => l.id)).toEqual(['r:1', 'f:a']);
    // The template's normal impression does not survive a finding: the AI-worded impression replaces it.
    expect(d.impression).toMatchObject({ origin: 'ai', accepted: false });
    expect(refreshDraft(editLine(d, 'impression', 'Mine.'), []).impression.text).toBe('Mine.');
  });

  it('the radiologist\'s measurements fill the table (length, ROI area and mean)', () => {
    const d = draftFromFindings([accepted], 'generic', [
      { id: 'm1', tool: 'length', stats: { length: 23.46, unit: 'mm' } },
      { id: 'm2', tool: 'ellipse', stats: { area: 120.5, areaUnit: 'mm²', mean: 41.2, modalityUnit: 'HU' } },
    ]);
    expect(d.measurements.slice(1)).toEqual([
      { findingId: 'm:m1', finding: 'Length 1', name: 'Length', value: 23.46, unit: 'mm', origin: 'radiologist' },
      { findingId: 'm:m2', finding: 'Ellipse ROI 2', name: 'Area', value: 120.5, unit: 'mm²', origin: 'radiologist' },
      { findingId: 'm:m2', finding: 'Ellipse ROI 2', name: 'Mean', value: 41.2, unit: 'HU', origin: 'radiologist' },
    ]);
    expect(refreshDraft(d, [accepted], []).measurements).toHaveLength(1);
    expect(reportPlainText(d)).toContain('Length 1 | Length | 23.5 mm');
  });

  it('comparison lines are added once, AI-suggested, and survive a refresh', () => {
    let d = addComparisonLines(draftFromFindings([accepted], 'generic'), [{ key: 'a', text: 'Intracranial haemorrhage 6 mm → 9 mm, +50 % since 2026-05-01.' }]);
    d = addComparisonLines(d, [{ key: 'a', text: 'again' }]);
    expect(d.findings.filter((l) => l.id === 'c:a')).toEqual([{ id: 'c:a', text: 'Intracranial haemorrhage 6 mm → 9 mm, +50 % since 2026-05-01.', origin: 'ai', accepted: false }]);
    expect(refreshDraft(d, [accepted]).findings.map((l) => l.id)).toContain('c:a');
  });

  it('report text: parts for the SR, plain lines with sections for the ORU', () => {
    let d = acceptAll(draftFromFindings([accepted], 'head-ct-haemorrhage'));
    d = { ...d, comments: 'No prior.' };
    expect(reportParts(d)).toEqual({
      findings: ['Hyperdense collection in keeping with acute intracranial haemorrhage (Brain), 12 mm.', 'Measurement: Intracranial haemorrhage: Width 12 mm.', 'No prior.'],
      impression: 'Findings in keeping with Intracranial haemorrhage (critical).',
    });
    expect(reportPlainText(d, { addendum: 'Later: fine.' }).split('\n')).toEqual([
      'FINDINGS:', 'Hyperdense collection in keeping with acute intracranial haemorrhage (Brain), 12 mm.', '',
      'MEASUREMENTS:', 'Intracranial haemorrhage | Width | 12 mm', '', 'COMMENTS:', 'No prior.', '',
      'IMPRESSION:', 'Findings in keeping with Intracranial haemorrhage (critical).', '', 'ADDENDUM:', 'Later: fine.',
    ]);
  });

  it('picks the template by modality and body part or description', () => {
    expect(templateFor({ modalities: ['CT'], bodyPart: 'HEAD' }).id).toBe('head-ct-haemorrhage');
    expect(templateFor({ modalities: ['CT', 'SR'], description: 'CT Brain w/o' }).id).toBe('head-ct-haemorrhage');
    expect(templateFor({ modalities: ['CR'], bodyPart: 'CHEST' }).id).toBe('chest-nodule');
    expect(templateFor({ modalities: ['MR'], bodyPart: 'KNEE' }).id).toBe('generic');
    // An SR in the study can hide the body part from QIDO: the findings' type decides then.
    expect(templateFor({ modalities: ['CT', 'SR'] }, undefined, [accepted]).id).toBe('head-ct-haemorrhage');
  });

  it('refuses a malformed draft, naming the field', () => {
    const r = parseDraft({ templateId: 'x', findings: [{ id: 'a', text: 'x', origin: 'robot', accepted: true }], measurements: [], impression: { id: 'i', text: '', origin: 'template', accepted: true }, comments: '' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^findings\.0\.origin/);
  });
});
