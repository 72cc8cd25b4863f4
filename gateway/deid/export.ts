/**
 * The de-identified feedback export for retraining (issue 17 item 6): for one model and period, every
 * study where a radiologist gave a verdict on that model's output, as a tar of
 *   manifest.json                         what is in it, how it was de-identified, what was refused
 *   studies/<n>/images/<uid>.dcm          the study's images, de-identified (PS3.15 Basic Profile)
 *   studies/<n>/ai-sr/<uid>.dcm           the AI result SR the gateway stored for the study, de-identified
 *   studies/<n>/findings.json             the model's findings with their verdicts and corrected boxes
 * One UID map per export: the same original UID is the same new UID in every file of it (an SR's
 * references resolve to the exported images), and a different one in any other export.
 *
 * What stays inside: which original study each `studies/<n>` is. It is recorded in the audit trail
 * (one `feedback-export-study` record per study: the study UID, as every audit record carries it, and
 * the de-identified UID), never in the archive. Verdicts go out without who gave them (the role only)
 * and without notes; a label a radiologist typed goes out as the coded type's meaning (free text cannot be
 * de-identified by rules); times go out not at all.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { OrthancClient } from '../orthanc/client.js';
import { appendAudit } from '../audit/audit.js';
import { findingsForStudy } from '../findings/repository.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { BurnedInAnnotationError, deidentify, DEID_METHOD_TEXT } from '../../src/core/deid/deidentify.js';
import { readDataset, str, writeDataset } from '../../src/core/deid/part10.js';
import { PS315_TABLE } from '../../src/core/deid/table.js';
import { createUidMap, type UidMap } from './uid-map.js';
import { instanceByUid, instanceFile, studyImages } from './pacs.js';
import { tar } from './tar.js';

export interface ExportRequest {
  model: string;
  /** ISO date-times, inclusive from, exclusive to; verdicts given in [from, to). */
  from?: string;
  to?: string;
  actor: { username: string; role: string };
}

export interface ExportSummary {
  exportId: string;
  studies: number;
  images: number;
  aiSrs: number;
  findings: number;
  verdicts: number;
  refused: { burnedInAnnotation: number; unreadable: number; notInPacs: number };
}

export interface ExportDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
}

const ACTIONS = ['accept', 'modify', 'reject'];

/** Studies with a standing verdict on the model's output in the period, oldest verdict first. */
export async function studiesWithVerdicts(db: Kysely<DB>, model: string, from?: string, to?: string): Promise<{ studyUID: string; verdicts: number }[]> {
  let q = db.selectFrom('finding_verdicts').select(['study_uid', 'after_body', 'at']).where('undone', '=', 0).where('action', 'in', ACTIONS).orderBy('seq');
  if (from) q = q.where('at', '>=', from);
  if (to) q = q.where('at', '<', to);
  const counts = new Map<string, number>();
  for (const r of await q.execute()) {
    const f = FindingSchema.safeParse(JSON.parse(r.after_body));
    if (!f.success || f.data.model.name !== model) continue;
    counts.set(r.study_uid, (counts.get(r.study_uid) ?? 0) + 1);
  }
  return [...counts].map(([studyUID, verdicts]) => ({ studyUID, verdicts }));
}

/** A finding as exported: UIDs remapped, no ids, names, notes or times; a modification points at what it corrects. */
export function exportFinding(f: Finding, ref: (id: string) => string, map: UidMap) {
  return {
    ref: ref(f.id),
    ...(f.originalId ? { corrects: ref(f.originalId) } : {}),
    type: f.type,
    // A label the radiologist typed (a modification, an added finding) is free text: the coded type's meaning goes instead.
    label: f.originalId || f.source === 'radiologist' ? f.type.meaning : f.label,
    confidence: f.confidence,
    severity: f.severity,
    status: f.status,
    ...(f.verdict ? { verdict: { role: f.verdict.role ?? null, ...(f.verdict.reason ? { reason: f.verdict.reason } : {}) } } : {}),
    model: { name: f.model.name, version: f.model.version },
    regions: f.regions.map((r) => ({
      image: { seriesInstanceUID: map.remap(r.image.seriesInstanceUID), sopInstanceUID: map.remap(r.image.sopInstanceUID), ...(r.image.frameNumber ? { frameNumber: r.image.frameNumber } : {}) },
      ...(r.box ? { box: r.box } : {}),
      ...(r.polygon ? { polygon: r.polygon } : {}),
    })),
  };
}

/** The AI's own findings behind the modifications in `live` (not in the live set any more): as the first verdict on each saw it. */
async function aiOriginals(db: Kysely<DB>, studyUID: string, live: Finding[]): Promise<Finding[]> {
  const have = new Set(live.map((f) => f.id));
  const wanted = [...new Set(live.map((f) => f.originalId).filter((id): id is string => !!id && !have.has(id)))];
  const out: Finding[] = [];
  for (const id of wanted) {
    const row = await db.selectFrom('finding_verdicts').select('before_body').where('study_uid', '=', studyUID).where('finding_id', '=', id).orderBy('seq').limit(1).executeTakeFirst();
    const f = row ? FindingSchema.safeParse(JSON.parse(row.before_body)) : null;
    if (f?.success && f.data.id === id) out.push(f.data);
  }
  return out;
}

/** The AI result SRs the gateway stored for the study (outbox `sr-stow`, kind `ai`), newest first. */
async function aiSrUids(db: Kysely<DB>, studyUID: string): Promise<string[]> {
  const rows = await db.selectFrom('outbox').select('payload').where('kind', '=', 'sr-stow').where('study_uid', '=', studyUID).orderBy('id', 'desc').execute();
  const out: string[] = [];
  for (const r of rows) {
    const p = JSON.parse(r.payload) as { kind?: string; sopInstanceUID?: string };
    if (p.kind === 'ai' && p.sopInstanceUID) out.push(p.sopInstanceUID);
  }
  return out;
}

export async function buildFeedbackExport(deps: ExportDeps, req: ExportRequest): Promise<{ archive: Uint8Array; summary: ExportSummary }> {
  const exportId = crypto.randomUUID();
  const map = createUidMap();
  const files: { name: string; data: Uint8Array }[] = [];
  const summary: ExportSummary = { exportId, studies: 0, images: 0, aiSrs: 0, findings: 0, verdicts: 0, refused: { burnedInAnnotation: 0, unreadable: 0, notInPacs: 0 } };
  const studies = await studiesWithVerdicts(deps.db, req.model, req.from, req.to);
  const manifestStudies: unknown[] = [];
  const audit = { actor: req.actor.username, role: req.actor.role };

  for (const [i, s] of studies.entries()) {
    const dir = `studies/${String(i + 1).padStart(4, '0')}`;
    const images = await studyImages(deps.orthanc, s.studyUID);
    if (!images) {
      summary.refused.notInPacs++;
      continue;
    }
    const deidStudy = map.remap(s.studyUID);
    const written: string[] = [];
    let refusedHere = 0;
    for (const img of images) {
      const out = await deidFile(deps.orthanc, img.orthancId, map);
      if (out.ok) {
        files.push({ name: `${dir}/images/${out.sop}.dcm`, data: out.bytes });
        written.push(`images/${out.sop}.dcm`);
        summary.images++;
      } else {
        refusedHere++;
        summary.refused[out.reason]++;
      }
    }
    if (refusedHere) {
      // Audited per study: which study (its UID, as every audit record carries it), why, how many; nothing exported of those images.
      await appendAudit(deps.db, { ...audit, action: 'deid-refused', outcome: 4, studyUID: s.studyUID, detail: { exportId, refused: refusedHere, reasons: { ...summary.refused } } });
    }
    const srs: string[] = [];
    for (const sop of await aiSrUids(deps.db, s.studyUID)) {
      const id = await instanceByUid(deps.orthanc, sop);
      if (!id) continue;
      const out = await deidFile(deps.orthanc, id, map);
      if (!out.ok) continue;
      files.push({ name: `${dir}/ai-sr/${out.sop}.dcm`, data: out.bytes });
      srs.push(`ai-sr/${out.sop}.dcm`);
      summary.aiSrs++;
    }
    const refs = new Map<string, string>();
    const ref = (id: string) => {
      const base = id.endsWith('~mod') ? id.slice(0, -4) : id;
      if (!refs.has(base)) refs.set(base, `f${refs.size + 1}`);
      return refs.get(base)! + (id.endsWith('~mod') ? '-corrected' : '');
    };
    const live = (await findingsForStudy(deps.db, s.studyUID)).filter((f) => f.model.name === req.model && f.source !== 'radiologist');
    // A modification replaces the AI's finding in the live set; what the AI said is what the verdict history kept of it.
    const findings = [...live, ...(await aiOriginals(deps.db, s.studyUID, live))];
    // Misses the radiologist added are feedback too: their own findings (no model output) go with them.
    const added = (await findingsForStudy(deps.db, s.studyUID)).filter((f) => f.source === 'radiologist');
    const body = {
      studyInstanceUID: deidStudy,
      findings: findings.map((f) => exportFinding(f, ref, map)),
      addedByRadiologist: added.map((f) => exportFinding(f, ref, map)),
    };
    files.push({ name: `${dir}/findings.json`, data: new TextEncoder().encode(JSON.stringify(body, null, 1)) });
    summary.findings += findings.length;
    summary.verdicts += s.verdicts;
    summary.studies++;
    manifestStudies.push({ dir, studyInstanceUID: deidStudy, images: written, aiSrs: srs, findings: 'findings.json', verdicts: s.verdicts });
    await appendAudit(deps.db, { ...audit, action: 'feedback-export-study', studyUID: s.studyUID, detail: { exportId, deidStudyUID: deidStudy, images: written.length, aiSrs: srs.length, findings: findings.length } });
  }

  const manifest = {
    exportId,
    model: req.model,
    period: { from: req.from ?? null, to: req.to ?? null },
    deidentification: {
      method: DEID_METHOD_TEXT,
      code: { value: '113100', scheme: 'DCM' },
      rules: `${PS315_TABLE.source.standard}, generated from ${PS315_TABLE.source.upstream} ${PS315_TABLE.source.path} @ ${PS315_TABLE.source.commit}`,
      uids: 'replaced consistently within this export (2.25.<decimal>); not joinable with any other export',
      verdicts: 'role and reason only; no names, notes or times',
    },
    studies: manifestStudies,
    refused: summary.refused,
  };
  files.unshift({ name: 'manifest.json', data: new TextEncoder().encode(JSON.stringify(manifest, null, 1)) });
  await appendAudit(deps.db, { ...audit, action: 'feedback-export', detail: { model: req.model, from: req.from ?? null, to: req.to ?? null, ...summary } });
  return { archive: tar(files), summary };
}

type DeidFileResult = { ok: true; sop: string; bytes: Uint8Array } | { ok: false; reason: 'burnedInAnnotation' | 'unreadable' };

/** One instance from the PACS, de-identified with the export's map. */
export async function deidFile(o: OrthancClient, orthancId: string, map: UidMap): Promise<DeidFileResult> {
  const bytes = await instanceFile(o, orthancId);
  let ds;
  try {
    ds = readDataset(bytes);
  } catch {
    return { ok: false, reason: 'unreadable' };
  }
  try {
    const out = deidentify(ds, { remapUid: map.remap });
    return { ok: true, sop: str(out.dict, '00080018'), bytes: writeDataset(out) };
  } catch (e) {
    if (e instanceof BurnedInAnnotationError) return { ok: false, reason: 'burnedInAnnotation' };
    throw e;
  }
}
