/** Route registration for findings: list, import, verdicts, sign-off (issue 4). */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { registerFindingsRoutes } from './routes.js';

export async function register(app: FastifyInstance, store: Store, _config: GatewayConfig): Promise<void> {
  await registerFindingsRoutes(app, store);
}
