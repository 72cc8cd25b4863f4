/**
 * The de-identified feedback export end to end (issue 17 item 6), against a real Orthanc and the real
 * gateway: a study with patient identity in it (copies of real CT slices, dcmodify), AI findings, a
 * radiologist's accept / reject / modify, the AI result SR the outbox stored; a second study whose one
 * image is flagged Burned In Annotation. The governance user's export is checked file by file:
 *  - tag by tag over the generated PS3.15 table, nothing with rule X/Z/D/U keeps its original value,
 *    and no original UID (at any depth) or patient identifier survives anywhere in the bytes;
 *  - one UID map across the export: one study and series UID in all slices, the SR's references are
 *    the exported images' new UIDs, the findings' regions too (and the right image: same pixels);
 *  - every exported file passes dciodvfy with no error its original did not have;
 *  - the burned-in image is not exported, and that is audited; the study mapping is in the audit only.
 * Also: governance gets the assessment SRs de-identified, and still not the identified ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles } from '../../scripts/lib/demo-data.js';
import { copyStudy, testFinding } from '../trust/testing.js';
import { findingsForStudy } from '../findings/repository.js';
import { onAiResultReady } from '../outbox/events.js';
import { PS315_TABLE } from '../../src/core/deid/table.js';
import { readDataset, str } from '../../src/core/deid/part10.js';
import type { DicomDict } from '../../src/core/deid/deidentify.js';
import { instanceByUid, instanceFile } from './pacs.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1717.1';
const BURNED = '1.2.826.0.1.3680043.9.4245.1717.2';
const MODEL = { name: 'deid-ct', version: '1.0', manufacturer: 'Test' };
const PHI = { name: 'Doe^Jane', id: 'PHI-12345', birth: '19700101', accession: 'ACC-98765', institution: 'St Example Hospital' };

let stack: Stack;
let tmp = '';
let studyFiles: string[] = [];
let burnedFiles: string[] = [];
const c: Record<string, Client> = {};
let exportDir = '';

/** Every UI value at any depth. */
function uids(d: DicomDict, out: string[] = []): string[] {
  for (const el of Object.values(d)) {
    if (el.vr === 'UI') for (const v of el.Value ?? []) out.push(String(v).replace(/\0/g, '').trim());
    if (el.vr === 'SQ') for (const i of el.Value ?? []) uids(i as DicomDict, out);
  }
  return out;
}
function refs(d: DicomDict, out: string[] = []): string[] {
  for (const [t, el] of Object.entries(d)) {
    if (t.toUpperCase() === '00081155') for (const v of el.Value ?? []) out.push(String(v));
    if (el.vr === 'SQ') for (const i of el.Value ?? []) refs(i as DicomDict, out);
  }
  return out;
}
const pixels = (d: DicomDict) => Buffer.from((d['7FE00010'].Value as ArrayBuffer[])[0]).toString('base64');
const errorsOf = (file: string) => {
  let text: string;
  try {
    text = execFileSync('dciodvfy', [file], { stdio: 'pipe' }).toString();
  } catch (e) {
    text = String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '');
  }
  // UIDs differ by design; the message is what counts.
  return new Set(text.split('\n').filter((l) => l.startsWith('Error')).map((l) => l.replace(/<[0-9.]+>/g, '<uid>')));
};

beforeAll(async () => {
  tmp = fs.mkdtempSync('/tmp/deid-int-');
  const phi = { '(0010,0010)': PHI.name, '(0010,0020)': PHI.id, '(0010,0030)': PHI.birth, '(0008,0050)': PHI.accession, '(0008,0080)': PHI.institution };
  studyFiles = copyStudy(headCtFiles().slice(10, 13), path.join(tmp, 'study'), STUDY, phi);
  burnedFiles = copyStudy(headCtFiles().slice(14, 16), path.join(tmp, 'burned'), BURNED, { ...phi, '(0028,0301)': 'NO' });
  execFileSync('dcmodify', ['-nb', '-m', '(0028,0301)=YES', burnedFiles[0]]);
  const modelsDir = path.join(tmp, 'models');
  fs.mkdirSync(modelsDir);
  stack = await startStack({ files: [...studyFiles, ...burnedFiles], config: { modelsDir } });
  for (const u of ['rita', 'gus', 'toby', 'ada']) c[u] = await login(stack.baseUrl, u);
  const slice = readDataset(fs.readFileSync(studyFiles[1])).dict;
  const region = [{ image: { seriesInstanceUID: str(slice, '0020000E'), sopInstanceUID: str(slice, '00080018') }, box: { x: 100, y: 100, width: 20, height: 20 } }];
  const okBurned = readDataset(fs.readFileSync(burnedFiles[1])).dict;
  const strip = (f: ReturnType<typeof testFinding>) => {
    const { source, ...rest } = f;
    void source;
    return rest;
  };
  const fs3 = ['A', 'B', 'C'].map((l) => testFinding(STUDY, { model: MODEL, label: l, severity: 'routine', regions: region }));
  const burnedFinding = testFinding(BURNED, { model: MODEL, regions: [{ image: { seriesInstanceUID: str(okBurned, '0020000E'), sopInstanceUID: str(okBurned, '00080018') }, box: { x: 5, y: 5, width: 9, height: 9 } }] });
  expect((await c.rita.post('/api/findings', [...fs3, burnedFinding].map(strip))).status).toBe(201);
  const verdict = async (id: string, body: unknown) => expect((await c.rita.post(`/api/findings/${id}/verdict`, body)).status).toBe(200);
  await verdict(fs3[0].id, { action: 'accept' });
  await verdict(fs3[1].id, { action: 'reject', reason: 'false-positive', note: `patient ${PHI.name} moved` });
  // Free text a radiologist typed naming the patient: must not leave in any export.
  await verdict(fs3[2].id, { action: 'modify', note: `as discussed with ${PHI.name}`, changes: { label: `bleed ${PHI.name}`, box: { x: 90, y: 95, width: 30, height: 25 } } });
  await verdict(burnedFinding.id, { action: 'accept' });
  // The AI result SR, as the pre-read enqueues it for a finished result; the outbox stores it in the PACS.
  const db = stack.gateway.store.db;
  const stored = (await findingsForStudy(db, STUDY)).filter((f) => !f.originalId);
  await db.transaction().execute((trx) => onAiResultReady(trx, { studyInstanceUID: STUDY, findings: stored, model: { ...MODEL } }));
  stack.gateway.outbox.kick();
  await waitFor('the AI SR in the PACS', async () => (await db.selectFrom('outbox').select('status').where('kind', '=', 'sr-stow').where('study_uid', '=', STUDY).executeTakeFirst())?.status === 'acknowledged', 60_000);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('feedback export', () => {
  it('is for governance and admin only', async () => {
    expect((await c.toby.fetch('/api/governance/feedback-export?model=deid-ct')).status).toBe(403);
    expect((await c.rita.fetch('/api/governance/feedback-export?model=deid-ct')).status).toBe(403);
    expect((await c.gus.fetch('/api/governance/feedback-export?model=Bad%20Name')).status).toBe(400);
  });

  it('exports the studies with verdicts, de-identified, as a tar', async () => {
    const r = await c.gus.fetch('/api/governance/feedback-export?model=deid-ct');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-tar');
    exportDir = path.join(tmp, 'export');
    fs.mkdirSync(exportDir);
    fs.writeFileSync(path.join(tmp, 'export.tar'), Buffer.from(await r.arrayBuffer()));
    execFileSync('tar', ['-xf', path.join(tmp, 'export.tar'), '-C', exportDir]);
    const manifest = JSON.parse(fs.readFileSync(path.join(exportDir, 'manifest.json'), 'utf8'));
    expect(manifest.studies).toHaveLength(2);
    expect(manifest.refused).toEqual({ burnedInAnnotation: 1, unreadable: 0, notInPacs: 0 });
    const [main, burned] = manifest.studies;
    expect(main.images).toHaveLength(3);
    expect(main.aiSrs).toHaveLength(1);
    expect(burned.images).toHaveLength(1);
    // Nothing in the archive names the patient, the accession, the institution or an original study.
    const all = execFileSync('find', [exportDir, '-type', 'f']).toString().trim().split('\n');
    for (const f of all) {
      const b = fs.readFileSync(f);
      for (const s of [PHI.name, PHI.id, PHI.birth, PHI.accession, PHI.institution, STUDY, BURNED, 'rita']) expect(b.includes(Buffer.from(s)), `${path.relative(exportDir, f)} contains ${s}`).toBe(false);
    }
  });

  it('leaves no attribute with rule X/Z/D/U at its original value, and no original UID at any depth', () => {
    const originals = [...studyFiles, burnedFiles[1]].map((f) => readDataset(fs.readFileSync(f)).dict);
    const byPixels = new Map(originals.map((d) => [pixels(d), d]));
    const originalUids = new Set(originals.flatMap((d) => uids(d)).filter((u) => !u.startsWith('1.2.840.10008.')));
    const files = execFileSync('find', [exportDir, '-name', '*.dcm']).toString().trim().split('\n');
    let compared = 0;
    for (const f of files.filter((x) => x.includes('/images/'))) {
      const out = readDataset(fs.readFileSync(f)).dict;
      const orig = byPixels.get(pixels(out));
      expect(orig, `${f}: the original image (same pixels)`).toBeDefined();
      for (const rule of PS315_TABLE.rules) {
        const before = orig![rule.tag];
        // Present but empty in the original: nothing there to remove.
        if (!before?.Value?.some((v) => v !== '' && v != null) || !['X', 'Z', 'D', 'U'].includes(rule.action)) continue;
        const after = out[rule.tag];
        compared++;
        expect(after && JSON.stringify(after.Value) === JSON.stringify(before.Value), `${rule.keyword} (${rule.basicProfile}) kept its original value`).toBeFalsy();
      }
      expect(Object.keys(out).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1), 'private attributes').toEqual([]);
      expect(str(out, '00120062')).toBe('YES');
      expect(((out['00120064'].Value as DicomDict[])[0]['00080100'].Value as string[])[0]).toBe('113100');
    }
    expect(compared).toBeGreaterThan(20);
    for (const f of files) for (const u of uids(readDataset(fs.readFileSync(f)).dict)) expect(originalUids.has(u), `${path.relative(exportDir, f)} carries original UID ${u}`).toBe(false);
  });

  it('maps UIDs consistently: one study and series across the slices, the SR and the findings point at the exported images', () => {
    const dir = path.join(exportDir, 'studies/0001');
    const images = fs.readdirSync(path.join(dir, 'images')).map((f) => readDataset(fs.readFileSync(path.join(dir, 'images', f))).dict);
    const sr = readDataset(fs.readFileSync(path.join(dir, 'ai-sr', fs.readdirSync(path.join(dir, 'ai-sr'))[0]))).dict;
    const manifest = JSON.parse(fs.readFileSync(path.join(exportDir, 'manifest.json'), 'utf8'));
    expect(new Set(images.map((d) => str(d, '0020000D')))).toEqual(new Set([manifest.studies[0].studyInstanceUID]));
    expect(new Set(images.map((d) => str(d, '0020000E'))).size).toBe(1);
    expect(new Set(images.map((d) => str(d, '00200052'))).size).toBe(1);
    expect(str(sr, '0020000D')).toBe(manifest.studies[0].studyInstanceUID);
    const imageUids = new Set(images.map((d) => str(d, '00080018')));
    const srRefs = refs(sr);
    expect(srRefs.length).toBeGreaterThan(0);
    for (const u of srRefs) expect(imageUids.has(u), `SR references ${u}`).toBe(true);
    // The findings' image is the one the radiologist marked: the exported file with those pixels.
    const body = JSON.parse(fs.readFileSync(path.join(dir, 'findings.json'), 'utf8'));
    const target = body.findings[0].regions[0].image.sopInstanceUID;
    expect(srRefs).toContain(target);
    const marked = images.find((d) => str(d, '00080018') === target)!;
    expect(pixels(marked)).toBe(pixels(readDataset(fs.readFileSync(studyFiles[1])).dict));
  });

  it('carries the verdicts and the corrected box, without names, notes or times', () => {
    const body = JSON.parse(fs.readFileSync(path.join(exportDir, 'studies/0001/findings.json'), 'utf8'));
    const byLabel = Object.fromEntries(body.findings.map((f: { label: string; status: string; corrects?: string }) => [`${f.label}:${f.status}`, f]));
    // The radiologist's own label of the modification goes out as the coded type's meaning.
    expect(Object.keys(byLabel).sort()).toEqual(['A:accepted', 'B:rejected', 'C:ai-unverified', 'Intracranial hemorrhage:modified']);
    expect(byLabel['B:rejected'].verdict).toEqual({ role: 'radiologist', reason: 'false-positive' });
    const corrected = byLabel['Intracranial hemorrhage:modified'];
    expect(corrected.corrects).toBe(byLabel['C:ai-unverified'].ref);
    expect(corrected.regions[0].box).toEqual({ x: 90, y: 95, width: 30, height: 25 });
    expect(byLabel['C:ai-unverified'].regions[0].box).toEqual({ x: 100, y: 100, width: 20, height: 20 });
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/rita|moved|discussed|createdAt|"at"|"by"/);
  });

  it('passes dciodvfy with no error the original did not have', () => {
    const originals = [...studyFiles, burnedFiles[1]];
    const byPixels = new Map(originals.map((f) => [pixels(readDataset(fs.readFileSync(f)).dict), f]));
    const files = execFileSync('find', [exportDir, '-name', '*.dcm', '-path', '*images*']).toString().trim().split('\n');
    expect(files).toHaveLength(4);
    for (const f of files) {
      const orig = byPixels.get(pixels(readDataset(fs.readFileSync(f)).dict))!;
      const before = errorsOf(orig);
      const added = [...errorsOf(f)].filter((e) => !before.has(e));
      expect(added, path.relative(exportDir, f)).toEqual([]);
    }
  });

  it('passes dciodvfy for the AI result SR too, with no error the stored SR did not have', async () => {
    const db = stack.gateway.store.db;
    const row = await db.selectFrom('outbox').select('payload').where('kind', '=', 'sr-stow').where('study_uid', '=', STUDY).executeTakeFirstOrThrow();
    const sop = (JSON.parse(row.payload) as { sopInstanceUID: string }).sopInstanceUID;
    const stored = path.join(tmp, 'ai-sr-original.dcm');
    fs.writeFileSync(stored, await instanceFile(stack.gateway.ctx.orthanc, (await instanceByUid(stack.gateway.ctx.orthanc, sop))!));
    const dir = path.join(exportDir, 'studies/0001/ai-sr');
    const exported = path.join(dir, fs.readdirSync(dir)[0]);
    const before = errorsOf(stored);
    expect([...errorsOf(exported)].filter((e) => !before.has(e))).toEqual([]);
  });

  it('audits the export (who, what, how many), the refusal, and keeps the study mapping in the audit only', async () => {
    const db = stack.gateway.store.db;
    const rows = await db.selectFrom('audit').selectAll().where('action', 'in', ['feedback-export', 'feedback-export-study', 'deid-refused']).orderBy('seq').execute();
    const exp = rows.find((r) => r.action === 'feedback-export')!;
    expect(exp.actor).toBe('gus');
    expect(JSON.parse(exp.detail!)).toMatchObject({ model: 'deid-ct', studies: 2, images: 4, aiSrs: 1, refused: { burnedInAnnotation: 1 } });
    const manifest = JSON.parse(fs.readFileSync(path.join(exportDir, 'manifest.json'), 'utf8'));
    const mapping = rows.filter((r) => r.action === 'feedback-export-study').map((r) => [r.study_uid, JSON.parse(r.detail!).deidStudyUID]);
    expect(mapping).toEqual([
      [STUDY, manifest.studies[0].studyInstanceUID],
      [BURNED, manifest.studies[1].studyInstanceUID],
    ]);
    expect(rows.filter((r) => r.action === 'deid-refused').map((r) => r.study_uid)).toEqual([BURNED]);
    for (const r of rows) expect(r.detail ?? '').not.toContain(PHI.name);
  });
});

describe('assessment SRs for governance', () => {
  it('are de-identified for governance; the identified ones stay admin-only', async () => {
    expect((await c.gus.fetch('/api/governance/assessments')).status).toBe(403);
    const list = await c.gus.json<{ assessments: { seq: number; href: string; role: string; action: string }[] }>('/api/governance/deid/assessments');
    expect(list.assessments.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(list)).not.toContain('rita');
    const r = await c.gus.fetch(list.assessments[0].href);
    expect(r.status).toBe(200);
    const bytes = Buffer.from(await r.arrayBuffer());
    const d = readDataset(bytes).dict;
    expect(str(d, '00100010')).toBe('');
    expect(str(d, '00120062')).toBe('YES');
    for (const s of [PHI.name, PHI.id, STUDY]) expect(bytes.includes(Buffer.from(s))).toBe(false);
    expect((await c.toby.fetch(list.assessments[0].href)).status).toBe(403);
    // The modification's note named the patient: no de-identified assessment carries it (the identified one does).
    for (const a of list.assessments) {
      const b = Buffer.from(await (await c.gus.fetch(a.href)).arrayBuffer());
      expect(b.includes(Buffer.from(PHI.name)), `assessment ${a.seq}`).toBe(false);
    }
    const modified = list.assessments.find((a) => a.action === 'modify')!;
    expect(Buffer.from(await (await c.ada.fetch(`/api/governance/assessments/${modified.seq}.dcm`)).arrayBuffer()).includes(Buffer.from('discussed with'))).toBe(true);
    // Against the identified SR (admin): dciodvfy finds nothing new in the de-identified one.
    const identified = await c.ada.fetch(`/api/governance/assessments/${list.assessments[0].seq}.dcm`);
    expect(identified.status).toBe(200);
    fs.writeFileSync(path.join(tmp, 'assessment.dcm'), Buffer.from(await identified.arrayBuffer()));
    fs.writeFileSync(path.join(tmp, 'assessment-deid.dcm'), bytes);
    const before = errorsOf(path.join(tmp, 'assessment.dcm'));
    expect([...errorsOf(path.join(tmp, 'assessment-deid.dcm'))].filter((e) => !before.has(e))).toEqual([]);
  });
});
