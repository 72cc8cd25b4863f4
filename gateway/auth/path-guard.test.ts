import { describe, expect, it } from 'vitest';
import { ambiguousPathReason, isApiPath } from './path-guard.js';

describe('ambiguousPathReason: one spelling per path', () => {
  it('accepts plain paths, with queries and encoded reserved characters that are not separators', () => {
    for (const p of ['/', '/api/admin/users', '/api/studies/1.2.3/findings?x=%2F..%2F', '/dicom-web/studies?PatientName=DOE%5EJOHN', '/assets/index-abc.js', '/viewer/1.2.3', '/models/a/b%20c.onnx', '/admin/'])
      expect(ambiguousPathReason(p), p).toBeNull();
  });
  it('refuses encoded unreserved characters, encoded separators and dots, controls, backslashes, // and dot segments', () => {
    const bad: [string, RegExp][] = [
      ['/%61pi/admin/users', /unreserved/],
      ['/ap%69/orders', /unreserved/],
      ['/api/admin/u%73ers', /unreserved/],
      ['/api/%7Eadmin', /unreserved/],
      ['/api/x%2D1', /unreserved/],
      ['/api%2fadmin/users', /separator/],
      ['/api%5Cadmin', /separator/],
      ['/api/%2e%2e/admin', /unreserved/],
      ['/api/x%00', /control/],
      ['/api\\admin', /backslash/],
      ['/api//admin', /empty path segment/],
      ['//api/admin', /empty path segment/],
      ['/api/./admin', /dot segment/],
      ['/api/x/../admin', /dot segment/],
      ['/api/..', /dot segment/],
      ['/api/admin/users/', /trailing slash/],
      ['/DICOM-WEB/studies/', /trailing slash/],
      ['/api/%zz', /malformed/],
      ['http://evil/api/admin', /must be a path/],
      ['*', /must be a path/],
    ];
    for (const [p, why] of bad) expect(ambiguousPathReason(p), p).toMatch(why);
  });
  it('isApiPath: the data namespaces in any letter case', () => {
    for (const p of ['/api', '/api/x', '/API/admin/users', '/Dicom-Web/studies', '/dicom-web?x']) expect(isApiPath(p), p).toBe(true);
    for (const p of ['/', '/apix', '/admin', '/viewer/1.2', '/dicom-webx']) expect(isApiPath(p), p).toBe(false);
  });
});
