/** Route registration for findings: list, import, verdicts, sign-off (issue 4). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerFindingsRoutes } from './routes.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  await registerFindingsRoutes(app, store);
}
