/**
 * Assessment SRs (issue 17 item 5): every accept / modify / reject still standing in the verdict history
 * (finding_verdicts, not undone) exported as a DICOM SR built by src/core/governance/assessment.ts. The
 * study's attributes and the referenced images' SOP classes are read from the PACS (DICOMweb metadata),
 * the assessed AI result SR from the gateway's own outbox (the AI result it stored for that finding).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { dicomWebPath, orthancFetch, type OrthancClient } from '../orthanc/client.js';
import { dcmjs, writeDicomPart10, type Dataset } from '../../src/core/sr/dicom.js';
import { studyFromDataset } from '../../src/core/sr/writer.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { buildAssessmentSr } from '../../src/core/governance/assessment.js';
import { outboxSettings } from '../outbox/settings.js';

export interface AssessmentRow {
  seq: number;
  studyUID: string;
  findingId: string;
  resultId: string;
  action: 'accept' | 'modify' | 'reject';
  actor: string;
  role: string;
  at: string;
}

const ACTIONS = ['accept', 'modify', 'reject'] as const;

export async function listAssessments(db: Kysely<DB>, studyUID?: string): Promise<AssessmentRow[]> {
  let q = db.selectFrom('finding_verdicts').select(['seq', 'study_uid', 'finding_id', 'result_id', 'action', 'actor', 'role', 'at']).where('undone', '=', 0).where('action', 'in', [...ACTIONS]).orderBy('seq');
  if (studyUID) q = q.where('study_uid', '=', studyUID);
  return (await q.execute()).map((r) => ({ seq: r.seq, studyUID: r.study_uid, findingId: r.finding_id, resultId: r.result_id, action: r.action as AssessmentRow['action'], actor: r.actor, role: r.role, at: r.at }));
}

/** A DICOMweb JSON read from the PACS (governance: assessments, drift inputs); null when there is none (404/204). */
export async function dicomWeb(orthanc: OrthancClient, pathname: string): Promise<object[] | null> {
  const r = await orthancFetch(orthanc, dicomWebPath(orthanc, pathname), { headers: { accept: 'application/dicom+json' }, timeoutMs: 15_000 });
  if (r.status === 404 || r.status === 204) return null;
  if (!r.ok) throw new Error(`PACS ${r.status}`);
  return (await r.json()) as object[];
}

const naturalize = (json: object[] | null): Dataset | undefined => (json?.length ? (dcmjs.data.DicomMetaDictionary.naturalizeDataset(json[0]) as Dataset) : undefined);

/** The AI result SR the gateway stored with this finding (the newest, if several). */
async function aiResultOf(db: Kysely<DB>, studyUID: string, findingId: string): Promise<{ seriesInstanceUID: string; sopInstanceUID: string } | null> {
  const rows = await db.selectFrom('outbox').select(['payload']).where('kind', '=', 'sr-stow').where('study_uid', '=', studyUID).orderBy('id', 'desc').execute();
  for (const r of rows) {
    const p = JSON.parse(r.payload) as { kind?: string; sopInstanceUID?: string; seriesInstanceUID?: string; findings?: { id: string }[] };
    if (p.kind === 'ai' && p.sopInstanceUID && p.seriesInstanceUID && p.findings?.some((f) => f.id === findingId)) return { seriesInstanceUID: p.seriesInstanceUID, sopInstanceUID: p.sopInstanceUID };
  }
  return null;
}

export type ExportResult = { ok: true; dicom: Uint8Array; row: AssessmentRow; aiResult: boolean } | { ok: false; status: 404 | 409 | 502; error: string };

/**
 * `withoutFreeText`: the verdict's note (typed by the radiologist, may name anyone) is left out of the SR;
 * for the de-identified export (gateway/deid), where attribute rules cannot clean free text.
 */
export async function exportAssessment(db: Kysely<DB>, orthanc: OrthancClient, config: GatewayConfig, seq: number, opts: { withoutFreeText?: boolean } = {}): Promise<ExportResult> {
  const v = await db.selectFrom('finding_verdicts').selectAll().where('seq', '=', seq).where('undone', '=', 0).where('action', 'in', [...ACTIONS]).executeTakeFirst();
  if (!v) return { ok: false, status: 404, error: `no standing verdict ${seq}` };
  const parsed = FindingSchema.safeParse(JSON.parse(v.after_body));
  if (!parsed.success) return { ok: false, status: 409, error: `verdict ${seq}: the stored finding does not validate` };
  const finding: Finding = opts.withoutFreeText && parsed.data.verdict ? { ...parsed.data, verdict: { ...parsed.data.verdict, note: undefined } } : parsed.data;
  const row: AssessmentRow = { seq: v.seq, studyUID: v.study_uid, findingId: v.finding_id, resultId: v.result_id, action: v.action as AssessmentRow['action'], actor: v.actor, role: v.role, at: v.at };
  let src: Dataset | undefined;
  const sopClassUIDs: Record<string, string> = {};
  try {
    for (const r of finding.regions) {
      const md = naturalize(await dicomWeb(orthanc, `/studies/${v.study_uid}/series/${r.image.seriesInstanceUID}/instances/${r.image.sopInstanceUID}/metadata`));
      if (!md) return { ok: false, status: 409, error: `the image ${r.image.sopInstanceUID} the finding marks is not in the PACS` };
      src ??= md;
      sopClassUIDs[r.image.sopInstanceUID] = String(md.SOPClassUID);
    }
    src ??= naturalize(await dicomWeb(orthanc, `/studies/${v.study_uid}/instances?limit=1&includefield=all`));
  } catch (e) {
    return { ok: false, status: 502, error: `PACS: ${(e as Error).message}` };
  }
  if (!src) return { ok: false, status: 409, error: `study ${v.study_uid} is not in the PACS` };
  const user = await db.selectFrom('users').select('display_name').where('username', '=', v.actor).executeTakeFirst();
  const institution = outboxSettings(config).institution;
  const aiResult = await aiResultOf(db, v.study_uid, finding.originalId ?? finding.id);
  const ds = buildAssessmentSr({
    seq: v.seq,
    action: row.action,
    finding,
    assessor: { name: user?.display_name ?? v.actor, organization: institution, at: v.at },
    study: studyFromDataset(src),
    sopClassUIDs,
    aiResult,
    institutionName: institution,
  });
  return { ok: true, dicom: writeDicomPart10(ds), row, aiResult: !!aiResult };
}
