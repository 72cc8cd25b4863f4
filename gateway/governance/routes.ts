/** Governance routes: the per-model figures (JSON and CSV). Governance and admin only (governance.read). */
import type { FastifyInstance } from 'fastify';
import { computeFigures, figuresToCsv } from '../../src/core/governance/figures.js';
import { readHistory, type GovernanceDeps } from './records.js';

export function registerGovernanceRoutes(app: FastifyInstance, deps: GovernanceDeps): void {
  // Per model, version, rollout mode, modality and ISO week; silent models included (that is what silent mode is for).
  app.get('/api/governance/figures', { config: { permission: 'governance.read' } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return computeFigures(await readHistory(deps));
  });

  app.get('/api/governance/figures.csv', { config: { permission: 'governance.read' } }, async (_req, reply) => {
    const f = computeFigures(await readHistory(deps));
    reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="governance-figures_${f.generatedAt.slice(0, 10)}.csv"`)
      .header('cache-control', 'no-store');
    return figuresToCsv(f.rows);
  });
}
