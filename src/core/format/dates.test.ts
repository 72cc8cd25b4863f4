import { describe, expect, it } from 'vitest';
import { DATE_PATTERN, DATE_TIME_PATTERN, formatDate, formatDateTime } from './dates';

describe('the one date format', () => {
  it('formats DICOM DA, ISO dates and instants the same way', () => {
    expect(formatDate('20120215')).toBe('2012-02-15');
    expect(formatDate('2012-02-15')).toBe('2012-02-15');
    const at = new Date(2026, 11, 7, 6, 5, 9);
    expect(formatDateTime(at)).toBe('2026-12-07 06:05');
    expect(formatDateTime(at.toISOString())).toBe('2026-12-07 06:05');
    expect(formatDateTime(at.getTime())).toBe('2026-12-07 06:05');
    expect(formatDate(at.toISOString())).toBe('2026-12-07');
    expect(formatDateTime('20120215')).toBe('2012-02-15');
    expect(formatDateTime(at)).toMatch(DATE_TIME_PATTERN);
    expect(formatDate('20120215')).toMatch(DATE_PATTERN);
  });

  it('gives nothing rather than a half-date for empty or invalid input', () => {
    for (const v of [undefined, null, '', 'not a date', '20121340', '2012-02-30']) {
      expect(formatDate(v)).toBe('');
      expect(formatDateTime(v)).toBe('');
    }
  });
});
