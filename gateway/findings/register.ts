/** Route registration for findings: list, import, verdicts, sign-off (issue 4); one ingestion path (issue 13). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerFindingsRoutes } from './routes.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  await registerFindingsRoutes(app, ctx);
}
