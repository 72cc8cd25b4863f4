/**
 * Result objects of a study (issue 15 item 5): the non-image objects vendors and tools send beside
 * the images (SEG, parametric map, presentation states, key object selections, SRs), listed for the
 * viewer with what each is, what it refers to and who made it, read by the server from the object's
 * own content (src/core/objects/summary.ts), never from the client.
 *
 * One way out: an object made by an algorithm passes THE reader policy (gateway/trust/service.ts
 * readerVisible) as the finding it amounts to, so AI disabled for the study or its modality, a model
 * switched off or silent, and the role rules hide it exactly as they hide that algorithm's findings.
 * Objects a person made are not AI output and are listed for every reader.
 *
 * Everything comes through the one Orthanc client (ctx.orthanc): one QIDO for the study's instances
 * and their SOP classes, then the metadata (no pixel data) of each result object, kept per SOP
 * Instance UID (a DICOM instance's content never changes under its UID) in this gateway's own cache.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { requireUser } from '../auth/plugin.js';
import { appendAudit } from '../audit/audit.js';
import { dicomWebPath, orthancJson } from '../orthanc/client.js';
import { readerPolicySnapshot, readerVisible } from '../trust/service.js';
import { dcmjs } from '../../src/core/sr/dicom.js';
import { objectKindOf, summarise, type ObjectSummary } from '../../src/core/objects/summary.js';
import { asPolicyFinding, type ListedObject } from '../../src/core/objects/policy.js';
import '../findings/migrations.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;
const CACHE_MAX = 5000;
type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

const first = (j: DicomJson, tag: string) => {
  const v = j[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
};

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const cache = new Map<string, ObjectSummary | null>();
  const audited = new Set<string>();

  async function summaryOf(study: string, series: string, sop: string): Promise<ObjectSummary | null> {
    const hit = cache.get(sop);
    if (hit !== undefined) return hit;
    const meta = await orthancJson<DicomJson[]>(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies/${study}/series/${series}/instances/${sop}/metadata`));
    const ds = meta[0] ? dcmjs.data.DicomMetaDictionary.naturalizeDataset(meta[0]) : null;
    const s = ds ? summarise(ds) : null;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(sop, s);
    return s;
  }

  app.get<{ Params: { study: string } }>('/api/studies/:study/objects', { config: { permission: 'findings.read' } }, async (req, reply) => {
    const s = requireUser(req);
    const { study } = req.params;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const instances = await orthancJson<DicomJson[]>(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies/${study}/instances?includefield=00080016&includefield=0020000E`)).catch((e: { status?: number }) => {
      if (e.status === 404) return [] as DicomJson[];
      throw e;
    });
    const wanted = instances
      .map((j) => ({ cls: first(j, '00080016'), series: first(j, '0020000E'), sop: first(j, '00080018') }))
      .filter((x): x is { cls: string; series: string; sop: string } => !!x.series && !!x.sop && objectKindOf(x.cls) !== null);
    // One object the PACS cannot give (deleted meanwhile, unreadable) is left out, not the whole list;
    // it is not cached, so the next listing tries it again.
    const summaries = (
      await Promise.all(
        wanted.map((w) =>
          summaryOf(study, w.series, w.sop).catch((e: Error) => {
            req.log.warn({ err: e.message }, 'objects: an object could not be read');
            return null;
          }),
        ),
      )
    ).filter((x): x is ObjectSummary => !!x && x.studyInstanceUID === study);

    // SRs the server already read into findings (gateway/findings/sr-arrivals.ts) are shown as findings.
    const srRows = summaries.some((o) => o.kind === 'sr')
      ? await ctx.db.selectFrom('sr_documents').select(['sop_instance_uid', 'state', 'findings_count']).where('study_uid', '=', study).execute()
      : [];
    const asFindings = new Set(srRows.filter((r) => r.state === 'own' || (r.state === 'read' && Number(r.findings_count) > 0)).map((r) => r.sop_instance_uid));

    const ai = summaries.filter((o) => o.creator.creator === 'ai');
    let visibleAi = new Set<string>();
    if (ai.length) {
      const snap = await readerPolicySnapshot(ctx);
      const facts = await ctx.facts(study);
      visibleAi = new Set(readerVisible(snap, { studyUID: study, facts }, ai.map(asPolicyFinding), s.user.role).map((f) => f.id));
    }
    const objects: ListedObject[] = summaries
      .filter((o) => o.creator.creator === 'person' || visibleAi.has(asPolicyFinding(o).id))
      .map((o) => ({ ...o, ingestedAsFindings: o.kind === 'sr' && asFindings.has(o.sopInstanceUID) }));
    const shownAi = objects.filter((o) => o.creator.creator === 'ai').map((o) => o.sopInstanceUID);
    // Audited once per user, study and set of AI objects shown (the viewer asks again whenever the
    // findings are refreshed; the same objects shown again are not a new disclosure).
    const seen = `${s.user.username}|${study}|${shownAi.join(',')}`;
    if (shownAi.length && !audited.has(seen)) {
      if (audited.size >= CACHE_MAX) audited.delete(audited.values().next().value as string);
      audited.add(seen);
      await appendAudit(ctx.db, { actor: s.user.username, role: s.user.role, action: 'objects-shown', studyUID: study, detail: { sopInstanceUIDs: shownAi } });
    }
    return { objects };
  });
}
