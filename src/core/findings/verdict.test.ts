import { describe, expect, it } from 'vitest';
import { FindingSchema } from './finding.js';
import { applyVerdict, modifiedId, parseVerdictRequest } from './verdict.js';
import { aiFinding } from './testdata.js';

const rita = { username: 'rita', role: 'radiologist' };
const at = '2026-11-25T10:00:00.000Z';
const f = FindingSchema.parse(aiFinding());

describe('verdict requests', () => {
  it('names the field that is wrong', () => {
    const cases: [unknown, string][] = [
      [{ action: 'approve' }, 'action'],
      [{ action: 'reject', reason: 'boring' }, 'reason'],
      [{ action: 'modify' }, 'changes: modify needs at least one change'],
      [{ action: 'accept', changes: { label: 'x' } }, 'changes: changes are only allowed with action modify'],
      [{ action: 'modify', changes: { box: { x: 0, y: 0, width: 0, height: 1 } } }, 'changes.box.width'],
      [{ action: 'modify', changes: { colour: 'red' } }, 'changes'],
    ];
    for (const [body, msg] of cases) {
      const r = parseVerdictRequest(body);
      expect(r.ok, JSON.stringify(body)).toBe(false);
      if (!r.ok) expect(r.errors.join('\n')).toContain(msg);
    }
  });
});

describe('applyVerdict', () => {
  it('accept and reject set status and who/when', () => {
    const a = applyVerdict(f, { action: 'accept' }, rita, at);
    expect(a.ok && a.value.status).toBe('accepted');
    expect(a.ok && a.value.verdict).toEqual({ by: 'rita', role: 'radiologist', at });
    const r = applyVerdict(f, { action: 'reject', reason: 'artefact' }, rita, at);
    expect(r.ok && r.value.status).toBe('rejected');
    expect(r.ok && r.value.verdict?.reason).toBe('artefact');
    expect(r.ok && r.value.id).toBe(f.id);
  });

  it('modify makes a linked finding and keeps the link on further edits', () => {
    const m = applyVerdict(f, { action: 'modify', changes: { box: { x: 12, y: 22, width: 20, height: 20 } } }, rita, at);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.id).toBe(modifiedId(f.id));
    expect(m.value.originalId).toBe(f.id);
    expect(m.value.status).toBe('modified');
    expect(m.value.regions[0].box).toEqual({ x: 12, y: 22, width: 20, height: 20 });
    expect(f.regions[0].box).toEqual({ x: 10, y: 20, width: 30, height: 40 }); // original untouched
    const m2 = applyVerdict(m.value, { action: 'modify', changes: { type: { value: '125605004', scheme: 'SCT', meaning: 'Fracture of bone' } } }, rita, at);
    expect(m2.ok && m2.value.id).toBe(m.value.id);
    expect(m2.ok && m2.value.originalId).toBe(f.id);
    expect(m2.ok && m2.value.label).toBe('Fracture of bone');
  });

  it('refuses a box for a region that does not exist', () => {
    const m = applyVerdict(f, { action: 'modify', changes: { regionIndex: 3, box: { x: 1, y: 1, width: 1, height: 1 } } }, rita, at);
    expect(m.ok).toBe(false);
    if (!m.ok) expect(m.errors[0]).toContain('changes.regionIndex');
  });
});
