import { describe, expect, it } from 'vitest';
import { isAllowedDicomWebPath, parsePublicOrigin, phiReadOf } from './proxy.js';

describe('DICOMweb proxy helpers', () => {
  it('phiReadOf names the study and the kind of each read', () => {
    const cases: [string, string | null, string][] = [
      ['/studies', null, 'qido-studies'],
      ['/series', null, 'qido-series'],
      ['/instances', null, 'qido-instances'],
      ['/studies/1.2', '1.2', 'study'],
      ['/studies/1.2/metadata', '1.2', 'study-metadata'],
      ['/studies/1.2/series', '1.2', 'qido-in-study'],
      ['/studies/1.2/series/3.4', '1.2', 'series'],
      ['/studies/1.2/series/3.4/metadata', '1.2', 'series-metadata'],
      ['/studies/1.2/series/3.4/instances', '1.2', 'qido-in-study'],
      ['/studies/1.2/series/3.4/instances/5.6', '1.2', 'instance'],
      ['/studies/1.2/series/3.4/instances/5.6/metadata', '1.2', 'instance-metadata'],
      ['/studies/1.2/series/3.4/instances/5.6/frames/1,2', '1.2', 'frames'],
      ['/studies/1.2/series/3.4/instances/5.6/rendered', '1.2', 'rendered'],
      ['/studies/1.2/series/3.4/thumbnail', '1.2', 'thumbnail'],
    ];
    for (const [p, study, kind] of cases) expect(phiReadOf(p), p).toEqual({ studyUID: study, kind });
  });

  it('isAllowedDicomWebPath keeps the proxy to DICOMweb resources', () => {
    for (const p of ['/studies', '/studies/1.2/series/3.4/instances/5.6/frames/1']) expect(isAllowedDicomWebPath(p), p).toBe(true);
    for (const p of ['/system', '/tools/find', '/studies/abc', '/studies/1.2/../../system', '/studies//x', '/studies/%2e%2e', '/STUDIES', '/studies/']) expect(isAllowedDicomWebPath(p), p).toBe(false);
  });

  it('PUBLIC_ORIGIN must be a bare http(s) origin', () => {
    expect(parsePublicOrigin('https://reading.example.org')).toEqual({ host: 'reading.example.org', proto: 'https' });
    expect(parsePublicOrigin('http://10.0.0.5:8080/')).toEqual({ host: '10.0.0.5:8080', proto: 'http' });
    for (const bad of ['reading.example.org', 'ftp://x', 'https://x/path', 'https://u:p@x', 'https://x/?q=1', 'javascript:alert(1)']) expect(() => parsePublicOrigin(bad), bad).toThrow(/PUBLIC_ORIGIN/);
  });
});
