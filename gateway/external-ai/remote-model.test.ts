/** A remote model in the registry, and the re-identification of its results (pure parts of issue 17 item 7). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelRegistry } from '../ai/registry.js';
import { parseManifest, type ModelManifest } from '../../src/core/ai/manifest.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { reidentify, RemoteResultSchema } from './results.js';
import { multipartRelated } from './deliver.js';

const base = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models/head-ct-hyperdensity/manifest.json'), 'utf8'));
const remote = (url: string) => ({ ...base, name: 'remote-ct', runtime: { kind: 'remote', url }, files: { model: 'remote.onnx' } });
const ICH = { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' };

describe('remote model manifest', () => {
  it('is in the registry and runnable, but never in the local pre-read list', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-reg-'));
    fs.mkdirSync(path.join(dir, 'remote-ct'));
    fs.writeFileSync(path.join(dir, 'remote-ct/manifest.json'), JSON.stringify(remote('https://ai.example.org/v1')));
    const reg = createModelRegistry(dir);
    expect(reg.errors()).toEqual([]);
    expect(reg.all().map((m) => [m.manifest.name, m.hasFile, m.manifest.runtime?.kind])).toEqual([['remote-ct', true, 'remote']]);
    expect(reg.list()).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends studies over https only (plain http only to this machine), and never carries a credential', () => {
    expect(parseManifest(remote('https://ai.example.org/v1')).ok).toBe(true);
    expect(parseManifest(remote('http://127.0.0.1:9999/ai')).ok).toBe(true);
    expect(parseManifest(remote('http://ai.example.org/v1')).ok).toBe(false);
    expect(parseManifest({ ...remote('https://ai.example.org'), runtime: { kind: 'remote', url: 'https://ai.example.org', token: 'secret' } }).ok).toBe(false);
    expect(parseManifest({ ...remote('https://ai.example.org'), runtime: { kind: 'remote', url: 'https://ai.example.org', tokenEnv: 'REMOTE_AI_TOKEN' } }).ok).toBe(true);
  });
});

describe('re-identification of a remote result', () => {
  const r = parseManifest(remote('https://ai.example.org'));
  const manifest = (r.ok ? r.value : null) as ModelManifest;
  const instances = new Map([['1.2.3.1', { sopInstanceUID: '1.2.3.1', seriesInstanceUID: '1.2.3' }]]);
  const reverse = (d: string) => (d === '2.25.11' ? '1.2.3.1' : undefined);
  const ctx = { deidStudyUID: '2.25.10', originalStudyUID: '1.2', reverse, instances, manifest };
  const result = (findings: unknown[]) => RemoteResultSchema.parse({ studyInstanceUID: '2.25.10', findings });

  it('maps the box back to the original instance, with the manifest class, severity and a stable id', () => {
    const a = reidentify(result([{ sopInstanceUID: '2.25.11', code: ICH, confidence: 0.9, box: { x: 1, y: 2, width: 3, height: 4 } }]), ctx);
    expect(a.refused).toEqual([]);
    expect(a.findings[0]).toMatchObject({ studyInstanceUID: '1.2', severity: 'critical', type: ICH, regions: [{ image: { sopInstanceUID: '1.2.3.1', seriesInstanceUID: '1.2.3' }, box: { x: 1, y: 2, width: 3, height: 4 } }] });
    const b = reidentify(result([{ sopInstanceUID: '2.25.11', code: ICH, confidence: 0.8, box: { x: 1, y: 2, width: 3, height: 4 } }]), ctx);
    expect(b.findings[0].id).toBe(a.findings[0].id);
  });

  it('refuses an instance that was not sent, a class the model does not have, and output under threshold', () => {
    const out = reidentify(
      result([
        { sopInstanceUID: '2.25.99', code: ICH, confidence: 0.9, box: { x: 1, y: 1, width: 1, height: 1 } },
        { sopInstanceUID: '2.25.11', code: { value: '1', scheme: 'SCT', meaning: 'x' }, confidence: 0.9, box: { x: 1, y: 1, width: 1, height: 1 } },
        { sopInstanceUID: '2.25.11', code: ICH, confidence: 0.2, box: { x: 1, y: 1, width: 1, height: 1 } },
      ]),
      ctx,
    );
    expect(out.findings).toEqual([]);
    expect(out.refused.map((x) => x.reason)).toEqual(['names an instance that was not sent', 'code SCT:1 is not an output class of the model', 'below the class threshold']);
    expect(() => reidentify(RemoteResultSchema.parse({ studyInstanceUID: '2.25.77', findings: [] }), ctx)).toThrow(/another study/);
  });

  it('builds a STOW-RS multipart body', () => {
    const body = multipartRelated([new Uint8Array([1, 2]), new Uint8Array([3])], 'b0');
    expect(body.toString('latin1')).toBe('--b0\r\nContent-Type: application/dicom\r\n\r\n\x01\x02\r\n--b0\r\nContent-Type: application/dicom\r\n\r\n\x03\r\n--b0--\r\n');
  });
});
