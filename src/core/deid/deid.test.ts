/**
 * The de-identifier against the standard's own table: the committed rule table is what the generator
 * makes from the committed source (so nobody edited it by hand), and every attribute the table says to
 * remove, empty, replace with a dummy or replace as a UID is gone or changed: checked tag by tag over
 * the whole generated table on a dataset that carries every one of them, and on real files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTableFromSource } from './source-table.js';
import { PS315_TABLE } from './table.js';
import { resolveAction, tagKey } from './generate.js';
import { BurnedInAnnotationError, deidentify, type DicomDict, type DicomElement } from './deidentify.js';
import { readDataset, writeDataset, str } from './part10.js';
import { createUidMap } from '../../../gateway/deid/uid-map.js';
import { headCtFiles, CHEST_CR } from '../../../scripts/lib/demo-data.js';

const ROOT = path.resolve(__dirname, '../../..');

/** A value of the VR that is certainly not a dummy the de-identifier writes. */
function marker(vr: string, i: number): unknown[] {
  switch (vr) {
    case 'PN':
      return [{ Alphabetic: `Doe^Jane${i}` }];
    case 'DA':
      return ['20240317'];
    case 'TM':
      return ['101112'];
    case 'DT':
      return ['20240317101112'];
    case 'AS':
      return ['042Y'];
    case 'UI':
      return [`1.2.826.0.1.3680043.9.9999.${i}`];
    case 'IS':
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
      return [4242];
    case 'DS':
    case 'FL':
    case 'FD':
      return [42.5];
    case 'OB':
    case 'OW':
    case 'UN':
      return [new Uint8Array([1, 2, 3, 4]).buffer];
    case 'CS':
      return [`SECRET${i}`.slice(0, 16)];
    default:
      return [`secret-${i}`];
  }
}

/** Every attribute of the table that has a plain tag and a VR, filled; sequences with a patient name inside. */
function everyTableAttribute(): DicomDict {
  const d: DicomDict = {};
  PS315_TABLE.rules.forEach((r, i) => {
    if (!/^[0-9A-F]{8}$/.test(r.tag) || !r.vr || r.tag.startsWith('0002') || r.tag.startsWith('0000') || r.tag.startsWith('FFF')) return;
    const vr = r.vr.split(' or ')[0];
    d[r.tag] = vr === 'SQ' ? { vr: 'SQ', Value: [{ '00100010': { vr: 'PN', Value: [{ Alphabetic: `Nested^Name${i}` }] }, '00081155': { vr: 'UI', Value: [`1.2.826.0.1.3680043.9.8888.${i}`] } }] } : { vr, Value: marker(vr, i) };
  });
  d['00080016'] = { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] };
  return d;
}

const same = (a: DicomElement | undefined, b: DicomElement | undefined) => JSON.stringify(a?.Value ?? null) === JSON.stringify(b?.Value ?? null);

describe('PS3.15 rule table', () => {
  it('is exactly what the generator makes from the committed source of Table E.1-1', () => {
    const committed = fs.readFileSync(path.join(ROOT, 'src/core/deid/ps315-table.json'), 'utf8');
    expect(buildTableFromSource(ROOT)).toBe(committed);
  });

  it('has a rule for every source row, each a resolution of the row as the standard writes it', () => {
    const rows = JSON.parse(fs.readFileSync(path.join(ROOT, 'src/core/deid/source/confidentiality_profile_attributes.json'), 'utf8')) as { tag: string; basicProfile: string }[];
    expect(PS315_TABLE.rules).toHaveLength(rows.length);
    const byTag = new Map(PS315_TABLE.rules.map((r) => [r.tag, r]));
    for (const row of rows) {
      const rule = byTag.get(tagKey(row.tag));
      expect(rule, row.tag).toBeDefined();
      expect(rule!.basicProfile).toBe(row.basicProfile);
      expect(row.basicProfile.replace('*', '').split('/')).toContain(rule!.action);
    }
    // A few rows read against the printed standard.
    expect(byTag.get('00100010')).toMatchObject({ keyword: 'PatientName', action: 'Z' });
    expect(byTag.get('00100020')).toMatchObject({ keyword: 'PatientID', action: 'Z' });
    expect(byTag.get('0020000D')).toMatchObject({ keyword: 'StudyInstanceUID', action: 'U' });
    expect(byTag.get('00081140')).toMatchObject({ keyword: 'ReferencedImageSequence', action: 'U', basicProfile: 'X/Z/U*' });
    expect(byTag.get('00080080')).toMatchObject({ keyword: 'InstitutionName', action: 'D', options: { rtnInstIdOpt: 'K' } });
  });

  it('resolves the IOD-dependent choices to the action that keeps every IOD conformant', () => {
    expect(resolveAction('X/Z', 'LO')).toBe('Z');
    expect(resolveAction('X/D', 'DA')).toBe('D');
    expect(resolveAction('X/Z/D', 'PN')).toBe('D');
    expect(resolveAction('X/Z/U*', 'SQ')).toBe('U');
    expect(resolveAction('X/Z/D', 'SQ')).toBe('Z');
    expect(resolveAction('D', 'SQ')).toBe('D');
    expect(resolveAction('X', 'SQ')).toBe('X');
  });
});

describe('deidentify', () => {
  it('leaves no attribute whose rule is X, Z, D or U with its original value (every row of the table)', () => {
    const input = everyTableAttribute();
    const map = createUidMap();
    const out = deidentify({ meta: {}, dict: structuredClone(input) }, { remapUid: map.remap }).dict;
    let checked = 0;
    for (const r of PS315_TABLE.rules) {
      const before = input[r.tag];
      if (!before) continue;
      const after = out[r.tag];
      checked++;
      if (r.action === 'X') expect(after, `${r.keyword} (${r.basicProfile}) must be removed`).toBeUndefined();
      else if (r.action === 'Z') expect(after?.Value ?? [], `${r.keyword} must be empty`).toEqual([]);
      else if (r.vr === 'SQ') {
        // Kept sequences (U, D) are recursed: the patient name and the UID inside are gone / replaced.
        const item = (after!.Value as DicomDict[])[0];
        expect(item['00100010'].Value, r.keyword).toEqual([]);
        expect(item['00081155'].Value![0]).toBe(map.remap(String((before.Value![0] as DicomDict)['00081155'].Value![0])));
      } else expect(same(before, after), `${r.keyword} (${r.basicProfile} → ${r.action}) kept its original value`).toBe(false);
      if (r.action === 'U' && r.vr === 'UI') expect(String(after!.Value![0])).toMatch(/^2\.25\.\d+$/);
    }
    expect(checked).toBeGreaterThan(400);
    expect(out['00120062'].Value).toEqual(['YES']);
    expect(out['00120063'].Value![0]).toMatch(/Basic Application Level Confidentiality Profile/);
    const codes = (out['00120064'].Value as DicomDict[]).map((i) => [i['00080100'].Value![0], i['00080102'].Value![0]]);
    expect(codes).toEqual([['113100', 'DCM']]);
  });

  it('removes private attributes and whole overlay groups, keeps what the table does not list', () => {
    const dict: DicomDict = {
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
      '00080060': { vr: 'CS', Value: ['CT'] },
      '00090010': { vr: 'LO', Value: ['GEMS_IDEN_01'] },
      '00091001': { vr: 'LO', Value: ['private patient note'] },
      '60000010': { vr: 'US', Value: [512] },
      '60003000': { vr: 'OW', Value: [new ArrayBuffer(8)] },
      '00180050': { vr: 'DS', Value: [5] },
    };
    const out = deidentify({ meta: {}, dict }, { remapUid: createUidMap().remap }).dict;
    expect(Object.keys(out).filter((t) => /^(0009|6000)/.test(t))).toEqual([]);
    expect(out['00080060'].Value).toEqual(['CT']);
    expect(out['00180050'].Value).toEqual([5]);
    expect(out['00080016'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.2']);
  });

  it('remaps UIDs consistently: the same UID gives the same new UID in every dataset and at every depth', () => {
    const map = createUidMap();
    const a = deidentify({ meta: {}, dict: { '0020000D': { vr: 'UI', Value: ['1.2.3.4'] }, '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] } } }, { remapUid: map.remap }).dict;
    const b = deidentify(
      { meta: {}, dict: { '0020000D': { vr: 'UI', Value: ['1.2.3.4'] }, '00081115': { vr: 'SQ', Value: [{ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3.4.5'] } }] } }] } } },
      { remapUid: map.remap },
    ).dict;
    expect(a['0020000D'].Value).toEqual(b['0020000D'].Value);
    const nested = ((((b['00081115'].Value as DicomDict[])[0]['00081199'].Value as DicomDict[])[0])['00081155'].Value as string[])[0];
    expect(nested).toBe(a['00080018'].Value![0]);
    expect(map.reverse(nested)).toBe('1.2.3.4.5');
    // Another export (another secret) gives other UIDs: exports cannot be joined on them.
    expect(createUidMap().remap('1.2.3.4')).not.toBe(map.remap('1.2.3.4'));
  });

  it('refuses an image flagged Burned In Annotation', () => {
    expect(() => deidentify({ meta: {}, dict: { '00280301': { vr: 'CS', Value: ['YES'] } } }, { remapUid: (u) => u })).toThrow(BurnedInAnnotationError);
    expect(() => deidentify({ meta: {}, dict: { '00280301': { vr: 'CS', Value: ['NO'] } } }, { remapUid: (u) => u })).not.toThrow();
  });

  it('keeps what an option retains and says so in the method code sequence', () => {
    const out = deidentify({ meta: {}, dict: { '00100040': { vr: 'CS', Value: ['F'] }, '00101010': { vr: 'AS', Value: ['042Y'] }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] } } }, { remapUid: (u) => u, options: ['rtnPatCharsOpt'] }).dict;
    expect(out['00100040'].Value).toEqual(['F']);
    expect(out['00101010'].Value).toEqual(['042Y']);
    expect(out['00100010'].Value).toEqual([]);
    expect((out['00120064'].Value as DicomDict[]).map((i) => i['00080100'].Value![0])).toEqual(['113100', '113108']);
  });

  it('de-identifies real files that still parse, with meta and dataset SOP Instance UIDs remapped alike', () => {
    const map = createUidMap();
    for (const f of [headCtFiles()[0], headCtFiles()[1], CHEST_CR]) {
      const src = readDataset(fs.readFileSync(f));
      const bytes = writeDataset(deidentify(src, { remapUid: map.remap }));
      const back = readDataset(bytes);
      expect(str(back.dict, '00100010')).toBe('');
      expect(str(back.dict, '00080018')).toBe(map.remap(str(src.dict, '00080018')));
      expect(str(back.meta, '00020003')).toBe(str(back.dict, '00080018'));
      expect(str(back.dict, '0020000D')).toBe(map.remap(str(src.dict, '0020000D')));
      expect(Buffer.from(bytes).includes(Buffer.from(str(src.dict, '0020000D')))).toBe(false);
      expect((back.dict['7FE00010'].Value as ArrayBuffer[])[0].byteLength).toBe((src.dict['7FE00010'].Value as ArrayBuffer[])[0].byteLength);
    }
    // The two CT slices share one de-identified study and series.
    const [a, b] = [headCtFiles()[0], headCtFiles()[1]].map((f) => readDataset(writeDataset(deidentify(readDataset(fs.readFileSync(f)), { remapUid: map.remap }))).dict);
    expect(str(a, '0020000E')).toBe(str(b, '0020000E'));
    expect(str(a, '00200052')).toBe(str(b, '00200052'));
  });
});
