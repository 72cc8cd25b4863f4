import { describe, expect, it } from 'vitest';
import { SEVERITY_LEGEND, severityShape, severityWord } from './severity';

describe('severity words and shapes', () => {
  it('one word and one distinct shape per level, none for no level', () => {
    expect(['critical', 'urgent', 'routine'].map(severityWord)).toEqual(['Critical', 'Urgent', 'Routine']);
    const shapes = ['critical', 'urgent', 'routine'].map(severityShape);
    expect(new Set(shapes).size).toBe(3);
    expect(severityWord('none')).toBe('');
    expect(severityShape(null)).toBe('');
    expect(SEVERITY_LEGEND.map((l) => l.word)).toEqual(['Critical', 'Urgent', 'Routine']);
  });
});
