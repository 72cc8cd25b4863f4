/**
 * Orthanc's DICOM port accepts stores only from configured modalities: real Orthanc, real DCMTK
 * storescu/echoscu. A known calling AE title from its configured address, addressing our AE title, is
 * stored; an unknown calling AE, a known AE from another address, or a wrong called AE is refused at
 * association and nothing is stored. Query/retrieve over DICOM is refused even to a known modality.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEFAULT_MODALITIES, modalitiesFromEnv, startOrthanc, type OrthancHandle } from '../scripts/lib/orthanc.js';
import { cStore } from '../gateway/preread/study-builder.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-orthanc-dicom-'));
let orthanc: OrthancHandle;
const file = headCtFiles()[0];

async function instanceCount(): Promise<number> {
  return ((await (await orthanc.rest('/instances')).json()) as unknown[]).length;
}

/** storescu's outcome: exit code and what it said (it exits non-zero when the association is refused). */
async function storescu(callingAet: string, calledAet: string): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run('storescu', ['-aet', callingAet, '-aec', calledAet, '127.0.0.1', String(orthanc.dicomPort), file], { timeout: 30_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  // The default modality list plus one modality configured at another address (127.0.0.2).
  orthanc = await startOrthanc({ dataDir: path.join(tmp, 'pacs'), quiet: true, modalities: [...DEFAULT_MODALITIES, { aet: 'CTROOM2', host: '127.0.0.2' }] });
});
afterAll(async () => {
  await orthanc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Orthanc DICOM port', () => {
  it('refuses a C-STORE from an unknown calling AE title; nothing is stored', async () => {
    const r = await storescu('INTRUDER', orthanc.aet);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/Association Rejected|rejected/i);
    expect(await instanceCount()).toBe(0);
  });

  it('refuses a known AE title calling from an address other than its configured one', async () => {
    const r = await storescu('CTROOM2', orthanc.aet);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/Association Rejected|rejected/i);
    expect(await instanceCount()).toBe(0);
  });

  it('refuses a known modality addressing a wrong called AE title', async () => {
    const r = await storescu('RSMODALITY', 'NOTTHEPACS');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/Association Rejected|rejected/i);
    expect(await instanceCount()).toBe(0);
  });

  it('accepts the configured modality (the AE every script and test uses) addressing our AE title', async () => {
    await cStore([file], { port: orthanc.dicomPort, aet: orthanc.aet });
    expect(await instanceCount()).toBe(1);
    expect(orthanc.aet).toBe('RSPACS');
  });

  it('C-ECHO only for known modalities; no query over DICOM even for them', async () => {
    const echo = (aet: string) => run('echoscu', ['-aet', aet, '-aec', orthanc.aet, '127.0.0.1', String(orthanc.dicomPort)], { timeout: 30_000 }).then(() => true, () => false);
    expect(await echo('RSMODALITY')).toBe(true);
    expect(await echo('INTRUDER')).toBe(false);
    const find = await run('findscu', ['-S', '-aet', 'RSMODALITY', '-aec', orthanc.aet, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName', '127.0.0.1', String(orthanc.dicomPort)], { timeout: 30_000 }).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(find).not.toMatch(/PatientName.*\[/); // no matches come back
    expect(find).toMatch(/Refused|Failed|Error|0xa700|0xc000|rejected/i);
  });

  it('DICOM_MODALITIES names the modalities as AET@host[:port]', () => {
    expect(modalitiesFromEnv('CT1@10.0.0.5:104, MR_2@mr.example.org')).toEqual([{ aet: 'CT1', host: '10.0.0.5', port: 104 }, { aet: 'MR_2', host: 'mr.example.org' }]);
    expect(modalitiesFromEnv('')).toBeUndefined();
    expect(() => modalitiesFromEnv('no-at-sign')).toThrow(/AET@host/);
    expect(() => modalitiesFromEnv('WAYTOOLONGAETITLE17@h')).toThrow(/AET@host/);
  });
});
