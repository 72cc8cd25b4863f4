/** Route and background-service registration for this capability: model registry and AI results (issue 5). */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import type { GatewayConfig } from '../config.js';

export async function register(_app: FastifyInstance, _store: Store, _config: GatewayConfig): Promise<void> {}
