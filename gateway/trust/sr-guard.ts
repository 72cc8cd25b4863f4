/**
 * SR content is findings content: a role the policy does not allow diagnostic findings (the
 * technologist by default) must not read them through the DICOMweb proxy either. Such a role may
 * still search (QIDO) and view images, but retrieving an SR series, or a whole study / study
 * metadata that would carry an SR's content tree, is refused (403) with the reason.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { orthancPostJson } from '../orthanc/client.js';
import { ruleFor } from '../../src/core/policy/policy.js';
import { currentPolicy } from './service.js';

const SERIES_PATH = /^\/dicom-web\/studies\/([0-9.]+)\/series\/([0-9.]+)(\/|$)/;
const WHOLE_STUDY_PATH = /^\/dicom-web\/studies\/([0-9.]+)(\/(metadata|bulk|rendered)(\/.*)?)?$/;

export function registerSrGuard(app: FastifyInstance, ctx: Pick<GatewayContext, 'db' | 'orthanc' | 'facts'>): void {
  const { db } = ctx;
  const seriesModality = new Map<string, { at: number; modality: string | null }>();
  async function modalityOfSeries(uid: string): Promise<string | null> {
    const hit = seriesModality.get(uid);
    if (hit && Date.now() - hit.at < 60_000) return hit.modality;
    // Unknown (PACS down or slow): the proxy's own request would fail too; refuse rather than guess.
    const found = await orthancPostJson<{ MainDicomTags?: { Modality?: string } }[]>(ctx.orthanc, '/tools/find', { Level: 'Series', Query: { SeriesInstanceUID: uid }, Expand: true }, 10_000).catch(() => null);
    const modality = found ? (found[0]?.MainDicomTags?.Modality ?? null) : 'SR';
    seriesModality.set(uid, { at: Date.now(), modality });
    return modality;
  }

  app.addHook('preHandler', async (req, reply) => {
    // Decided on the route the router matched (ambiguous spellings are refused before routing: gateway/auth/path-guard.ts).
    if (!req.routeOptions.url?.startsWith('/dicom-web/') || !req.session) return;
    const rule = ruleFor((await currentPolicy(db)).policy, req.session.user.role);
    if (rule?.kinds.includes('diagnostic')) return;
    const path = req.url.split('?')[0];
    const s = SERIES_PATH.exec(path);
    if (s) {
      if ((await modalityOfSeries(s[2])) === 'SR') return reply.code(403).send({ error: `role ${req.session.user.role} may not read SR (findings) content` });
      return;
    }
    const w = WHOLE_STUDY_PATH.exec(path);
    if (w) {
      const facts = await ctx.facts(w[1]);
      if (!facts || facts.modalities.includes('SR')) return reply.code(403).send({ error: `role ${req.session.user.role} may not retrieve a whole study that holds SR (findings) content; retrieve its image series` });
    }
  });
}
