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
import type { ListedObject } from '../../src/core/objects/policy.js';
import { objectVisibility } from './visibility.js';
import '../findings/migrations.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;
const CACHE_MAX = 5000;

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const audited = new Set<string>();
  const visibility = objectVisibility(ctx);

  app.get<{ Params: { study: string } }>('/api/studies/:study/objects', { config: { permission: 'findings.read' } }, async (req, reply) => {
    const s = requireUser(req);
    const { study } = req.params;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    // The list is read afresh (a new object shows at once); the proxy's guard shares this answer's cache.
    visibility.forget(study);
    const { objects: summaries, hidden } = await visibility.classify(study, s.user.role, (m) => req.log.warn(m));

    // SRs the server already read into findings (gateway/findings/sr-arrivals.ts) are shown as findings.
    const srRows = summaries.some((o) => o.kind === 'sr')
      ? await ctx.db.selectFrom('sr_documents').select(['sop_instance_uid', 'state', 'findings_count']).where('study_uid', '=', study).execute()
      : [];
    const asFindings = new Set(srRows.filter((r) => r.state === 'own' || (r.state === 'read' && Number(r.findings_count) > 0)).map((r) => r.sop_instance_uid));

    const objects: ListedObject[] = summaries
      .filter((o) => !hidden.has(o.sopInstanceUID))
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
