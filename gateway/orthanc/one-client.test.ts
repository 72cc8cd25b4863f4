/**
 * One Orthanc client (issue 13 item 9): the gateway's server code reaches Orthanc only through
 * ctx.orthanc (gateway/orthanc/client.ts, timeouts on every call). The DICOMweb proxy forwards the
 * browser's own requests and is the one other reader of the address. A new module that builds its
 * own URL from config.orthancUrl fails here, naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const ALLOWED = new Set(['config.ts', 'orthanc/client.ts', 'dicomweb/proxy.ts']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('one Orthanc client', () => {
  it('no gateway module but the client, the proxy and the config reads orthancUrl', () => {
    const offenders = sources(ROOT)
      .map((f) => path.relative(ROOT, f))
      .filter((rel) => !ALLOWED.has(rel) && /\borthancUrl\b/.test(fs.readFileSync(path.join(ROOT, rel), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the check sees a file that does (it would not pass vacuously)', () => {
    expect(sources(ROOT).some((f) => /\borthancUrl\b/.test(fs.readFileSync(f, 'utf8')) && f.endsWith(path.join('orthanc', 'client.ts')))).toBe(true);
  });
});
