import { describe, expect, it } from 'vitest';
import { ageOf, modalitiesOf, reasonOf, statusOf, filterRows, finalSummary, flagOf, mergeTriage, reportInFlight, moveSelection, rowFromQido, selectedIndex, sortRows, timeSince, DEFAULT_SORT, type WorklistRow } from './model';

const row = (uid: string, over: Partial<WorklistRow> = {}): WorklistRow => ({
  studyUID: uid,
  patientName: 'Doe, Jane',
  patientId: 'P' + uid,
  modalities: 'CT',
  description: 'Head',
  date: '2026-01-01',
  images: 10,
  accession: '',
  ageSex: '',
  bodyPart: '',
  ...over,
});

describe('worklist rows', () => {
  it('maps a QIDO-RS study (DICOM JSON) to a row', () => {
    const r = rowFromQido({
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] },
      '00100020': { vr: 'LO', Value: ['ID1'] },
      '00080061': { vr: 'CS', Value: ['CT', 'SR'] },
      '00081030': { vr: 'LO', Value: ['Head w/o'] },
      '00080020': { vr: 'DA', Value: ['20250102'] },
      '00201208': { vr: 'IS', Value: [28] },
    });
    expect(r).toMatchObject({ studyUID: '1.2.3', patientName: 'Doe, Jane', patientId: 'ID1', modalities: 'CT, SR', description: 'Head w/o', date: '2025-01-02', images: 28, ageSex: '', bodyPart: '' });
    // The body part from the study's image series wins over the study level, which an AI SR in the study empties.
    expect(rowFromQido({ '0020000D': { vr: 'UI', Value: ['1.2.3'] } }, new Map([['1.2.3', 'HEAD']])).bodyPart).toBe('HEAD');
  });

  it('age/sex from Patient\'s Age, else from birth date and study date; body part and accession', () => {
    const r = rowFromQido({
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
      '00101010': { vr: 'AS', Value: ['045Y'] },
      '00100040': { vr: 'CS', Value: ['F'] },
      '00180015': { vr: 'CS', Value: ['HEAD'] },
      '00080050': { vr: 'SH', Value: ['ACC1'] },
    });
    expect(r).toMatchObject({ ageSex: '45 y F', bodyPart: 'HEAD', accession: 'ACC1' });
    expect(ageOf(undefined, '19830101', '20120215')).toBe('29 y');
    expect(ageOf(undefined, '19830301', '20120215')).toBe('28 y');
    expect(ageOf('006M', undefined, undefined)).toBe('6 mo');
    expect(ageOf(undefined, undefined, '20120215')).toBe('');
  });

  it('status: final, in progress (opened), AI pending, AI unavailable, unread', () => {
    const t = (aiState: string, status?: 'final') => ({ priority: null, reason: null, arrivedAt: '', aiState, status });
    expect(statusOf({ studyUID: 'a', triage: t('done', 'final') }, new Set(['a']))).toBe('final');
    expect(statusOf({ studyUID: 'a', triage: t('pending') }, new Set(['a']))).toBe('in-progress');
    expect(statusOf({ studyUID: 'a', triage: t('running') })).toBe('ai-pending');
    expect(statusOf({ studyUID: 'a', triage: t('pending') })).toBe('ai-pending');
    expect(statusOf({ studyUID: 'a', triage: t('unavailable') })).toBe('ai-unavailable');
    expect(statusOf({ studyUID: 'a', triage: t('failed') })).toBe('ai-unavailable');
    expect(statusOf({ studyUID: 'a', triage: t('done') })).toBe('unread');
    expect(statusOf({ studyUID: 'a' })).toBe('unread');
  });

  it('filters by modality, status and priority; the reason is on the row only with a flag', () => {
    const rows = mergeTriage([row('a', { modalities: 'CT, SR' }), row('b', { modalities: 'MR' }), row('c', { modalities: 'CR' })], {
      a: { priority: 'critical', reason: 'ICH suspected, 96%', arrivedAt: '', aiState: 'done' },
      b: { priority: null, reason: null, arrivedAt: '', aiState: 'pending' },
      c: { priority: 'critical', reason: 'ICH suspected, 96%', arrivedAt: '', aiState: 'done', status: 'final' },
    });
    expect(modalitiesOf(rows)).toEqual(['CR', 'CT', 'MR', 'SR']);
    expect(filterRows(rows, '', { modality: 'CT', status: '', priority: '' }).map((r) => r.studyUID)).toEqual(['a']);
    expect(filterRows(rows, '', { modality: '', status: 'ai-pending', priority: '' }).map((r) => r.studyUID)).toEqual(['b']);
    expect(filterRows(rows, '', { modality: '', status: '', priority: 'critical' }).map((r) => r.studyUID)).toEqual(['a']);
    expect(filterRows(rows, '', { modality: '', status: 'final', priority: '' }).map((r) => r.studyUID)).toEqual(['c']);
    expect(filterRows(rows, 'ich').map((r) => r.studyUID)).toEqual(['a']);
    expect(reasonOf(rows[0])).toBe('ICH suspected, 96%');
    expect(reasonOf(rows[2])).toBe('');
  });

  it('defaults to critical first, then urgent, routine, unflagged; oldest first among equals', () => {
    const rows = mergeTriage([row('a', { date: '2026-01-01' }), row('b'), row('c', { date: '2026-02-01' }), row('d')], {
      b: { priority: 'urgent', reason: 'x', arrivedAt: '', aiState: '' },
      d: { priority: 'critical', reason: 'bleed', arrivedAt: '', aiState: '' },
    });
    expect(sortRows(rows, DEFAULT_SORT).map((r) => r.studyUID)).toEqual(['d', 'b', 'a', 'c']);
  });

  it('puts the oldest arrival first among equally critical studies (the one waiting longest)', () => {
    const rows = mergeTriage([row('old', { date: '2026-03-01' }), row('new', { date: '2020-01-01' })], {
      old: { priority: 'critical', reason: 'ICH suspected, 90%', arrivedAt: '2026-11-25T10:00:00Z', aiState: 'done' },
      new: { priority: 'critical', reason: 'ICH suspected, 60%', arrivedAt: '2026-11-25T11:00:00Z', aiState: 'done' },
    });
    expect(sortRows(rows, DEFAULT_SORT).map((r) => r.studyUID)).toEqual(['old', 'new']);
  });

  it('sorts by any column, both directions, numbers numerically', () => {
    const rows = [row('a', { images: 9 }), row('b', { images: 100 }), row('c', { images: 20 })];
    expect(sortRows(rows, { key: 'images', dir: 'asc' }).map((r) => r.images)).toEqual([9, 20, 100]);
    expect(sortRows(rows, { key: 'images', dir: 'desc' }).map((r) => r.images)).toEqual([100, 20, 9]);
  });

  it('filters on name, ID, modality and description, case-insensitively', () => {
    const rows = [row('a', { patientName: 'Smith, Ann' }), row('b', { modalities: 'MR' }), row('c')];
    expect(filterRows(rows, 'smith').map((r) => r.studyUID)).toEqual(['a']);
    expect(filterRows(rows, 'mr').map((r) => r.studyUID)).toEqual(['b']);
    expect(filterRows(rows, '  ')).toHaveLength(3);
  });

  it('prints time since arrival', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(timeSince('2026-01-01T11:56:00Z', now)).toBe('4 min');
    expect(timeSince('2026-01-01T09:55:00Z', now)).toBe('2 h 5 min');
    expect(timeSince('2025-12-29T12:00:00Z', now)).toBe('3 d');
    expect(timeSince(undefined, now)).toBe('');
  });

  it('keeps the selection on the chosen study when a triage result re-sorts the list', () => {
    const before = sortRows(mergeTriage([row('a', { date: '2026-01-01' }), row('b', { date: '2026-02-01' }), row('c', { date: '2026-03-01' })], {}), DEFAULT_SORT);
    expect(before.map((r) => r.studyUID)).toEqual(['a', 'b', 'c']);
    const chosen = moveSelection(before, 'a', 'ArrowDown');
    expect(chosen).toBe('b');
    // The pre-read flags c as critical: c moves to the top and b to the middle; the highlight follows b.
    const after = sortRows(mergeTriage(before, { c: { priority: 'critical', reason: 'ICH', arrivedAt: '2026-11-25T10:00:00Z', aiState: 'done' } }), DEFAULT_SORT);
    expect(after.map((r) => r.studyUID)).toEqual(['c', 'a', 'b']);
    expect(after[selectedIndex(after, chosen)].studyUID).toBe('b');
    // Movement counts from where the chosen study is now.
    expect(moveSelection(after, chosen, 'ArrowUp')).toBe('a');
    expect(moveSelection(after, chosen, 'ArrowDown')).toBe('b');
    expect(moveSelection(after, chosen, 'Home')).toBe('c');
    expect(moveSelection(after, chosen, 'End')).toBe('b');
  });

  it('falls back to the top row when the selected study leaves the list', () => {
    const rows = [row('a'), row('b')];
    expect(selectedIndex(rows, 'gone')).toBe(0);
    expect(selectedIndex(rows, null)).toBe(0);
    expect(moveSelection(rows, 'gone', 'ArrowDown')).toBe('b');
    expect(moveSelection([], 'a', 'ArrowDown')).toBeNull();
  });

  it('a signed-off study shows no flag and sorts with the unflagged; a role without diagnostic content (null) shows none', () => {
    const t = (priority: 'critical' | null, status?: 'final' | 'unsigned') => ({ priority, reason: priority ? 'ICH suspected, 96%' : null, arrivedAt: '2026-11-25T10:00:00Z', aiState: 'done', status });
    expect(flagOf({ triage: t('critical') })).toBe('critical');
    expect(flagOf({ triage: t('critical', 'final') })).toBe('none');
    expect(flagOf({ triage: t(null) })).toBe('none');
    expect(flagOf({})).toBe('none');
    const rows = mergeTriage([row('a'), row('b'), row('c')], { a: t('critical', 'final'), b: t('critical'), c: t(null) });
    expect(sortRows(rows, DEFAULT_SORT)[0].studyUID).toBe('b');
  });

  it('a final row says who signed and where the SR and ORU are; it is in flight until both arrived', () => {
    const base = { priority: 'critical' as const, reason: 'x', arrivedAt: '', aiState: 'done' };
    expect(finalSummary({ ...base, status: 'unsigned' })).toBeNull();
    expect(finalSummary({ ...base, status: 'final', signedBy: 'rita', report: { srState: 'acknowledged', oruState: 'sent' } })).toBe('Signed off by rita · SR stored · ORU sent');
    expect(finalSummary({ ...base, status: 'final', signedBy: 'rita', report: { srState: 'acknowledged', oruState: 'acknowledged' }, afterSignoff: 2 })).toBe('Signed off by rita · SR stored · ORU acknowledged · 2 AI results after sign-off');
    expect(finalSummary({ ...base, status: 'final', signedBy: 'rita', report: null, afterSignoff: 1 })).toBe('Signed off by rita · 1 AI result after sign-off');
    expect(finalSummary({ ...base, status: 'final', signedBy: 'rita', report: null, afterSignoff: null })).toBe('Signed off by rita');
    expect(reportInFlight({ ...base, status: 'final', signedBy: 'rita', report: { srState: 'acknowledged', oruState: 'sent' } })).toBe(true);
    expect(reportInFlight({ ...base, status: 'final', signedBy: 'rita', report: { srState: 'acknowledged', oruState: 'acknowledged' } })).toBe(false);
    expect(reportInFlight({ ...base, status: 'final', signedBy: 'rita', report: { srState: 'failed', oruState: 'none' } })).toBe(false);
  });
});
