import { describe, expect, it } from 'vitest';
import { cornerText, patientLines, seriesLine, seriesOfInstance, studyFieldsOf } from './overlayText';
import type { StackEntry } from '../core/imaging/stack';

const entry = (frameNumber: number, numberOfFrames: number) => ({ frameNumber, numberOfFrames }) as StackEntry;
const base = { patientName: 'DOE^JANE', patientId: 'ID1', patientAgeSex: '45 y F', studyDate: '2025-01-02', accession: 'ACC9', imageIndex: 0, imageIds: ['a', 'b', 'c'], entries: [entry(1, 1), entry(1, 1), entry(1, 1)], voi: { lower: -15, upper: 84 }, invert: false, zoom: 1.5 };

describe('overlay corner text', () => {
  it('numbers the slice from 1 and prints the window in effect', () => {
    const t = cornerText({ ...base, imageIndex: 2 }, undefined);
    expect(t.bl).toEqual(['Im 3 / 3', '']);
    expect(t.br).toEqual(['W 100 L 35']);
    expect(t.tr).toEqual(['Zoom 1.50×']);
  });
  it('names the frame of a multi-frame instance and an inverted display', () => {
    const t = cornerText({ ...base, imageIndex: 1, entries: [entry(1, 3), entry(2, 3), entry(3, 3)], invert: true }, undefined);
    expect(t.bl).toEqual(['Im 2 / 3 · frame 2', '']);
    expect(t.br).toEqual(['W 100 L 35 · inverted']);
  });
  it('says nothing before a stack or a window exists', () => {
    const t = cornerText({ ...base, imageIds: [], entries: [], voi: null, zoom: 0 }, undefined);
    expect(t.bl).toEqual(['', '']);
    expect(t.br).toEqual(['']);
    expect(t.tr).toEqual(['']);
  });
  it('gives slice location and thickness in mm where the header has them', () => {
    const e = { ...entry(1, 1), sliceLocation: -12.5, sliceThickness: 5 } as StackEntry;
    expect(cornerText({ ...base, entries: [e, e, e] }, undefined).bl).toEqual(['Im 1 / 3', 'Loc -12.5 mm · Thk 5 mm']);
    expect(cornerText({ ...base, entries: [{ ...e, sliceLocation: undefined, sliceThickness: 0.625 } as StackEntry, e, e] }, undefined).bl[1]).toBe('Thk 0.63 mm');
  });
  it('says cine and its frame rate while it plays', () => {
    expect(cornerText({ ...base, cineOn: true, cineFps: 15 }, undefined).tr).toEqual(['Zoom 1.50× · Cine 15 fps']);
    expect(cornerText({ ...base, cineOn: false, cineFps: 15 }, undefined).tr).toEqual(['Zoom 1.50×']);
  });
  it('describes the series by description, else by number', () => {
    const s = { seriesInstanceUID: '1', description: '', modality: 'CT', seriesNumber: 2, instanceCount: 1, status: 'ready' as const, failedImages: 0 };
    expect(seriesLine(s)).toBe('CT · Series 2');
    expect(seriesLine({ ...s, description: 'HEAD' })).toBe('CT · HEAD');
    expect(cornerText(base, s).tl).toEqual(['DOE^JANE', 'ID1 · 45 y F', '2025-01-02 · Acc ACC9', 'CT · Series 2']);
  });
  it('reads a study\'s own patient and study fields and its series from an instance (a prior\'s date and accession, not the open study\'s)', () => {
    const inst = {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DOE^JANE' }] },
      '00100020': { vr: 'LO', Value: ['ID1'] },
      '00101010': { vr: 'AS', Value: ['045Y'] },
      '00100040': { vr: 'CS', Value: ['F'] },
      '00080020': { vr: 'DA', Value: ['20260501'] },
      '00080050': { vr: 'SH', Value: ['ACC7'] },
      '00080060': { vr: 'CS', Value: ['CT'] },
      '0008103E': { vr: 'LO', Value: ['Head'] },
      '00200011': { vr: 'IS', Value: [3] },
    };
    const fields = studyFieldsOf(inst);
    expect(fields.patientId).toBe('ID1');
    expect(fields.accession).toBe('ACC7');
    expect(fields.patientAgeSex).toBe('45 y F');
    expect(patientLines(fields, seriesOfInstance(inst))).toEqual([fields.patientName, 'ID1 · 45 y F', `${fields.studyDate} · Acc ACC7`, 'CT · Head']);
    expect(fields.studyDate).toMatch(/2026/);
    expect(studyFieldsOf(undefined)).toEqual({ patientName: '', patientId: '', patientAgeSex: '', studyDate: '', accession: '' });
    expect(seriesOfInstance({ '00080060': { vr: 'CS', Value: ['MR'] }, '00200011': { vr: 'IS', Value: [4] } })).toEqual({ description: '', modality: 'MR', seriesNumber: 4 });
  });
});
