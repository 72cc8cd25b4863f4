import { describe, expect, it } from 'vitest';
import { FindingSchema, FINDING_TYPES, type Finding, type FindingInput } from '../findings/finding.js';
import { DEFAULT_POLICY, canSeeFinding, filterFindingsForRole, maySignOff, parsePolicy, visibleToReaders, type Policy } from './policy.js';

const STUDY = '1.2.3.4';
function finding(over: Partial<FindingInput> & { id: string }): Finding {
  return FindingSchema.parse({
    studyInstanceUID: STUDY,
    type: FINDING_TYPES.intracranialHemorrhage,
    label: 'ICH',
    confidence: 0.95,
    severity: 'critical',
    regions: [{ image: { seriesInstanceUID: '1.2.3.4.5', sopInstanceUID: '1.2.3.4.5.6' } }],
    model: { name: 'head-ct-hyperdensity', version: '1.0.0' },
    source: 'preread',
    ...over,
  });
}

const ich95 = finding({ id: 'ich-95' });
const ich50 = finding({ id: 'ich-50', confidence: 0.5 });
const noduleRoutine = finding({ id: 'nod', type: FINDING_TYPES.pulmonaryNodule, label: 'Nodule', severity: 'routine', confidence: 0.99, model: { name: 'chest-cr-nodule', version: '1' } });
const noduleUrgent = finding({ id: 'nod-u', type: FINDING_TYPES.pulmonaryNodule, label: 'Nodule', severity: 'urgent', confidence: 0.93 });
const motion = finding({ id: 'motion', type: FINDING_TYPES.motionArtefact, label: 'Motion', severity: 'routine', confidence: 0.4, kind: 'quality' });
const all = [ich95, ich50, noduleRoutine, noduleUrgent, motion];
const ids = (fs: Finding[]) => fs.map((f) => f.id).sort();

describe('default role policy', () => {
  it('radiologist sees everything, at every confidence', () => {
    expect(ids(filterFindingsForRole(DEFAULT_POLICY, 'radiologist', all))).toEqual(ids(all));
  });
  it('resident sees only >= 0.92 that meet the priority rules (critical/urgent)', () => {
    expect(ids(filterFindingsForRole(DEFAULT_POLICY, 'resident', all))).toEqual(['ich-95', 'nod-u']);
    expect(canSeeFinding(DEFAULT_POLICY, 'resident', finding({ id: 'x', confidence: 0.92 }))).toBe(true);
    expect(canSeeFinding(DEFAULT_POLICY, 'resident', finding({ id: 'x', confidence: 0.9199 }))).toBe(false);
  });
  it('ER attending sees only critical finding types, at any confidence', () => {
    expect(ids(filterFindingsForRole(DEFAULT_POLICY, 'er-attending', all))).toEqual(['ich-50', 'ich-95']);
  });
  it('technologist sees quality flags only, never a diagnostic finding', () => {
    expect(ids(filterFindingsForRole(DEFAULT_POLICY, 'technologist', all))).toEqual(['motion']);
  });
  it('admin, ai-governance and unknown roles see nothing (deny by default)', () => {
    for (const role of ['admin', 'ai-governance', 'superuser', '', 'constructor', '__proto__']) {
      expect(filterFindingsForRole(DEFAULT_POLICY, role, all), role).toEqual([]);
    }
  });
  it('only the radiologist signs off by default', () => {
    expect(maySignOff('radiologist')).toBe(true);
    for (const r of ['resident', 'er-attending', 'technologist', 'admin', 'ai-governance', 'x']) expect(maySignOff(r), r).toBe(false);
  });
});

describe('custom filters', () => {
  it('filters by modality; an unknown modality fails a modality restriction', () => {
    const p: Policy = { roles: { ...DEFAULT_POLICY.roles, radiologist: { kinds: ['diagnostic'], minConfidence: 0, modalities: ['CT'] } } };
    expect(filterFindingsForRole(p, 'radiologist', [ich95], { modality: 'CT' })).toHaveLength(1);
    expect(filterFindingsForRole(p, 'radiologist', [ich95], { modality: 'MR' })).toHaveLength(0);
    expect(filterFindingsForRole(p, 'radiologist', [ich95], {})).toHaveLength(0);
  });
  it('a rule with no kinds shows nothing', () => {
    const p = parsePolicy({ roles: { radiologist: {} } });
    expect(p.ok).toBe(true);
    if (p.ok) expect(filterFindingsForRole(p.value, 'radiologist', all)).toEqual([]);
  });
});

describe('policy validation', () => {
  it('names the field that is wrong', () => {
    const r = parsePolicy({ roles: { resident: { kinds: ['diagnostic'], minConfidence: 1.5 } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(/roles\.resident\.minConfidence: must be between 0 and 1/);
  });
  it('refuses unknown roles and unknown keys (sign-off is not a policy knob)', () => {
    const r1 = parsePolicy({ roles: { superuser: { kinds: ['diagnostic'] } } });
    expect(r1.ok).toBe(false);
    const r2 = parsePolicy({ roles: {}, signOffRoles: ['admin'] });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.errors.join()).toMatch(/signOffRoles/);
  });
});

describe('rollout modes', () => {
  const human = finding({ id: 'human', source: 'radiologist', model: { name: 'head-ct-hyperdensity', version: '1' } });
  it('silent and off models are never returned to readers; assistive ones and human findings are', () => {
    const rollout = { modes: { 'head-ct-hyperdensity': 'silent' as const, 'chest-cr-nodule': 'assistive' as const }, defaultMode: 'off' as const };
    expect(ids(visibleToReaders([...all, human], rollout))).toEqual(['human', 'nod']);
    expect(visibleToReaders([ich95], { modes: {}, defaultMode: 'assistive' })).toHaveLength(1);
    expect(visibleToReaders([ich95], { modes: { 'head-ct-hyperdensity': 'off' }, defaultMode: 'assistive' })).toHaveLength(0);
  });
});

import { ageFromDates, parseAgeString, patientAgeYears, primaryModality } from './study.js';
describe('study facts', () => {
  it('parses DICOM age strings and birth dates', () => {
    expect(parseAgeString('009Y')).toBe(9);
    expect(parseAgeString('006M')).toBe(0.5);
    expect(parseAgeString('9Y')).toBeUndefined();
    expect(ageFromDates('20170601', '20260531')).toBe(8);
    expect(ageFromDates('20170601', '20260601')).toBe(9);
    expect(patientAgeYears({ PatientBirthDate: '19800101', StudyDate: '20260101' })).toBe(46);
    expect(patientAgeYears({ PatientAge: '040Y', PatientBirthDate: '19800101', StudyDate: '20260101' })).toBe(40);
  });
  it('the primary modality skips derived objects such as our own SR', () => {
    expect(primaryModality(['SR', 'CT'])).toBe('CT');
    expect(primaryModality(['SR'])).toBe('SR');
    expect(primaryModality([])).toBeNull();
  });
});
