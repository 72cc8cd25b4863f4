import { describe, expect, it } from 'vitest';
import { FindingSchema, FINDING_TYPES, type Finding, type FindingInput } from '../findings/finding.js';
import { DEFAULT_TRIAGE_RULES, parseTriageRules, prioritise, comparePriority, thresholdKey } from './triage.js';

const STUDY = '1.2.3.4';
let n = 0;
function finding(over: Partial<FindingInput>): Finding {
  n++;
  return FindingSchema.parse({
    id: `f${n}`,
    studyInstanceUID: STUDY,
    type: FINDING_TYPES.intracranialHemorrhage,
    label: 'Intracranial hemorrhage',
    confidence: 0.94,
    severity: 'critical',
    regions: [{ image: { seriesInstanceUID: '1.2.3.4.5', sopInstanceUID: '1.2.3.4.5.6' } }],
    model: { name: 'ich-ct', version: '1.0.0' },
    source: 'preread',
    ...over,
  });
}

describe('prioritise', () => {
  it('flags an ICH above threshold as critical with a readable reason', () => {
    expect(prioritise([finding({ confidence: 0.94 })], DEFAULT_TRIAGE_RULES)).toMatchObject({ priority: 'critical', reason: 'ICH suspected, 94%' });
  });

  it("says a radiologist's own finding is theirs, and gives no percentage where the source gave no certainty", () => {
    const own = finding({ source: 'radiologist', confidence: 1, model: { name: 'radiologist', version: '1' }, status: 'accepted', verdict: { by: 'rita', at: '2026-01-01T00:00:00Z' } });
    expect(prioritise([own], DEFAULT_TRIAGE_RULES)).toMatchObject({ priority: 'critical', reason: "ICH, radiologist's finding" });
    expect(prioritise([finding({ source: 'sr', confidence: 1, confidenceStated: false })], DEFAULT_TRIAGE_RULES)).toMatchObject({ priority: 'critical', reason: 'ICH suspected, confidence not given' });
  });

  it('uses the model threshold when the rule has none: below it is not suspected', () => {
    const f = finding({ confidence: 0.6 });
    expect(prioritise([f], DEFAULT_TRIAGE_RULES, { 'ich-ct': 0.7 }).priority).toBe('none');
    expect(prioritise([f], DEFAULT_TRIAGE_RULES, { 'ich-ct': 0.55 }).priority).toBe('critical');
    // a per-class threshold (from the manifest's classes) wins over the model-wide one
    expect(prioritise([f], DEFAULT_TRIAGE_RULES, { 'ich-ct': 0.55, [thresholdKey('ich-ct', FINDING_TYPES.intracranialHemorrhage)]: 0.65 }).priority).toBe('none');
    // default threshold 0.5 applies when the model declares none
    expect(prioritise([finding({ confidence: 0.49 })], DEFAULT_TRIAGE_RULES).priority).toBe('none');
  });

  it('takes the highest priority over all findings, then the highest confidence', () => {
    const fracture = finding({ type: FINDING_TYPES.fracture, label: 'Fracture of bone', severity: 'urgent', confidence: 0.99 });
    const ich1 = finding({ confidence: 0.81 });
    const ich2 = finding({ confidence: 0.9 });
    const r = prioritise([fracture, ich1, ich2], DEFAULT_TRIAGE_RULES);
    expect(r).toEqual({ priority: 'critical', reason: 'ICH suspected, 90%', findingId: ich2.id });
    expect(prioritise([fracture], DEFAULT_TRIAGE_RULES).reason).toBe('Fracture suspected, 99%');
  });

  it('ignores rejected findings and quality flags', () => {
    const rejected = finding({ status: 'rejected', verdict: { by: 'rita', at: '2026-01-01T00:00:00Z', reason: 'false-positive' } });
    const quality = finding({ type: FINDING_TYPES.motionArtefact, label: 'Motion artefact', kind: 'quality', severity: 'urgent' });
    expect(prioritise([rejected, quality], DEFAULT_TRIAGE_RULES)).toEqual({ priority: 'none', reason: 'no finding above threshold' });
    expect(prioritise([], DEFAULT_TRIAGE_RULES)).toEqual({ priority: 'none', reason: 'no AI findings' });
  });

  it('falls back to the finding severity (or a fixed level) for unmatched types, per the rules', () => {
    const odd = finding({ type: { value: 'X1', scheme: '99RS', meaning: 'Odd' }, label: 'Odd thing', severity: 'urgent', confidence: 0.7 });
    expect(prioritise([odd], DEFAULT_TRIAGE_RULES).priority).toBe('urgent');
    const strict = parseTriageRules({ ...DEFAULT_TRIAGE_RULES, unmatched: 'none' });
    expect(strict.ok && prioritise([odd], strict.value).priority).toBe('none');
  });

  it('rules are data: a site can restrict a rule to a model and set its own cut-off', () => {
    const site = parseTriageRules({
      rules: [{ type: { value: '1386000', scheme: 'SCT' }, models: ['other-model'], priority: 'critical' }, { type: { value: '1386000', scheme: 'SCT' }, minConfidence: 0.3, priority: 'urgent', reasonLabel: 'Bleed' }],
    });
    if (!site.ok) throw new Error(site.errors.join('; '));
    expect(prioritise([finding({ confidence: 0.35 })], site.value)).toMatchObject({ priority: 'urgent', reason: 'Bleed suspected, 35%' });
  });

  it('rejects malformed rules naming the field', () => {
    const r = parseTriageRules({ rules: [{ priority: 'panic', minConfidence: 2 }] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.some((e) => e.startsWith('rules.0.priority'))).toBe(true);
      expect(r.errors.some((e) => e.startsWith('rules.0.minConfidence'))).toBe(true);
    }
  });

  it('orders priorities critical first', () => {
    expect(['none', 'routine', 'critical', 'urgent'].sort((a, b) => comparePriority(a as never, b as never))).toEqual(['critical', 'urgent', 'routine', 'none']);
  });
});
