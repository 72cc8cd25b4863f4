/**
 * Per-field length limits on everything a finding, a verdict request and a triage rule store: each
 * field accepts its limit and refuses one character more, naming the field.
 */
import { describe, expect, it } from 'vitest';
import { FindingSchema, LIMITS, describeIssues, type FindingInput } from './finding.js';
import { VerdictRequestSchema } from './verdict.js';
import { TriageRuleSchema, TriageRulesSchema } from '../triage/triage.js';
import { aiFinding } from './testdata.js';

const s = (n: number) => 'x'.repeat(n);
const UID_AT_LIMIT = '1.' + '2'.repeat(62);

/** Each case: a finding with the field at `len` characters, the path an over-long value is refused at, the limit. */
const FINDING_FIELDS: { path: string; limit: number; with: (len: number) => Partial<FindingInput> }[] = [
  { path: 'id', limit: LIMITS.findingId, with: (n) => ({ id: s(n) }) },
  { path: 'label', limit: LIMITS.label, with: (n) => ({ label: s(n) }) },
  { path: 'type.value', limit: LIMITS.codeValue, with: (n) => ({ type: { value: s(n), scheme: 'SCT', meaning: 'm' } }) },
  { path: 'type.scheme', limit: LIMITS.codeScheme, with: (n) => ({ type: { value: '1', scheme: s(n), meaning: 'm' } }) },
  { path: 'type.meaning', limit: LIMITS.codeMeaning, with: (n) => ({ type: { value: '1', scheme: 'SCT', meaning: s(n) } }) },
  { path: 'findingSite.meaning', limit: LIMITS.codeMeaning, with: (n) => ({ findingSite: { value: '1', scheme: 'SCT', meaning: s(n) } }) },
  { path: 'model.name', limit: LIMITS.modelName, with: (n) => ({ model: { name: s(n), version: '1' } }) },
  { path: 'model.version', limit: LIMITS.modelVersion, with: (n) => ({ model: { name: 'm', version: s(n) } }) },
  { path: 'model.manufacturer', limit: LIMITS.manufacturer, with: (n) => ({ model: { name: 'm', version: '1', manufacturer: s(n) } }) },
  { path: 'model.executionProvider', limit: LIMITS.executionProvider, with: (n) => ({ model: { name: 'm', version: '1', executionProvider: s(n) } }) },
  { path: 'model.timingsMs', limit: LIMITS.timingKey, with: (n) => ({ model: { name: 'm', version: '1', timingsMs: { [s(n)]: 1 } } }) },
  { path: 'verdict.by', limit: LIMITS.actor, with: (n) => ({ status: 'accepted', verdict: { by: s(n), at: '2026-11-25T10:00:00Z' } }) },
  { path: 'verdict.role', limit: LIMITS.role, with: (n) => ({ status: 'accepted', verdict: { by: 'rita', role: s(n), at: '2026-11-25T10:00:00Z' } }) },
  { path: 'verdict.note', limit: LIMITS.note, with: (n) => ({ status: 'accepted', verdict: { by: 'rita', at: '2026-11-25T10:00:00Z', note: s(n) } }) },
  { path: 'originalId', limit: LIMITS.findingId, with: (n) => ({ originalId: s(n) }) },
  { path: 'ingestedBy', limit: LIMITS.actor, with: (n) => ({ ingestedBy: s(n) }) },
  { path: 'measurements.0.unit.meaning', limit: LIMITS.codeMeaning, with: (n) => ({ measurements: [{ name: { value: '1', scheme: 'SCT', meaning: 'Length' }, value: 1, unit: { value: 'mm', scheme: 'UCUM', meaning: s(n) } }] }) },
];

const issuesOf = (input: unknown) => {
  const r = FindingSchema.safeParse(input);
  return r.success ? [] : describeIssues(r.error);
};

describe('finding length limits', () => {
  for (const c of FINDING_FIELDS) {
    it(`${c.path}: ${c.limit} characters stored, ${c.limit + 1} refused`, () => {
      expect(issuesOf(aiFinding(c.with(c.limit)))).toEqual([]);
      const issues = issuesOf(aiFinding(c.with(c.limit + 1)));
      expect(issues.length).toBe(1);
      expect(issues[0].startsWith(c.path)).toBe(true);
    });
  }

  it('UIDs stay within 64 characters', () => {
    expect(issuesOf(aiFinding({ studyInstanceUID: UID_AT_LIMIT }))).toEqual([]);
    expect(issuesOf(aiFinding({ studyInstanceUID: UID_AT_LIMIT + '3' }))[0]).toMatch(/^studyInstanceUID: /);
  });

  it('lists are bounded: regions, timings', () => {
    const region = aiFinding().regions[0];
    expect(issuesOf(aiFinding({ regions: Array(LIMITS.regions).fill(region) }))).toEqual([]);
    expect(issuesOf(aiFinding({ regions: Array(LIMITS.regions + 1).fill(region) }))[0]).toMatch(/^regions: /);
    const timings = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, 1]));
    expect(issuesOf(aiFinding({ model: { name: 'm', version: '1', timingsMs: timings(LIMITS.timings) } }))).toEqual([]);
    expect(issuesOf(aiFinding({ model: { name: 'm', version: '1', timingsMs: timings(LIMITS.timings + 1) } }))[0]).toMatch(/^model\.timingsMs: /);
  });
});

describe('verdict request limits', () => {
  const issues = (v: unknown) => {
    const r = VerdictRequestSchema.safeParse(v);
    return r.success ? [] : describeIssues(r.error);
  };
  it('note, changed label and code meaning', () => {
    expect(issues({ action: 'reject', reason: 'other', note: s(LIMITS.note) })).toEqual([]);
    expect(issues({ action: 'reject', reason: 'other', note: s(LIMITS.note + 1) })[0]).toMatch(/^note: /);
    expect(issues({ action: 'modify', changes: { label: s(LIMITS.label) } })).toEqual([]);
    expect(issues({ action: 'modify', changes: { label: s(LIMITS.label + 1) } })[0]).toMatch(/^changes\.label: /);
    expect(issues({ action: 'modify', changes: { type: { value: '1', scheme: 'SCT', meaning: s(LIMITS.codeMeaning + 1) } } })[0]).toMatch(/^changes\.type\.meaning: /);
    expect(issues({ action: 'modify', changes: { extent: { firstSopInstanceUID: s(65), lastSopInstanceUID: '1' } } })[0]).toMatch(/^changes\.extent\.firstSopInstanceUID: /);
  });
});

describe('triage rule limits', () => {
  const issues = (v: unknown) => {
    const r = TriageRuleSchema.safeParse(v);
    return r.success ? [] : describeIssues(r.error);
  };
  it('reason label, type code and model names', () => {
    expect(issues({ priority: 'critical', reasonLabel: s(LIMITS.label) })).toEqual([]);
    expect(issues({ priority: 'critical', reasonLabel: s(LIMITS.label + 1) })[0]).toMatch(/^reasonLabel: /);
    expect(issues({ priority: 'critical', type: { value: s(LIMITS.codeValue + 1), scheme: 'SCT' } })[0]).toMatch(/^type\.value: /);
    expect(issues({ priority: 'critical', models: [s(LIMITS.modelName + 1)] })[0]).toMatch(/^models\.0: /);
    expect(TriageRulesSchema.safeParse({ rules: Array(201).fill({ priority: 'critical' }) }).success).toBe(false);
  });
});
