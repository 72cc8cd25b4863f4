/** Outbox and MLLP settings: from the environment, overridable per gateway (tests) via config.outbox. */
import type { GatewayConfig } from '../config.js';

export interface OutboxSettings {
  risHost?: string;
  risPort?: number;
  /** Inbound MLLP listener port; 0/undefined = off */
  mllpPort?: number;
  mllpHost: string;
  ackTimeoutMs: number;
  /**
   * How long a claim holds a message without renewal. The claiming gateway renews it (every third of it)
   * while the delivery runs; a gateway that dies stops renewing and another takes the message over after
   * this long. Env OUTBOX_LEASE_MS, default 15 s.
   */
  leaseMs: number;
  /** Retries after an AE before the message is dead */
  aeRetries: number;
  /** Attempts before a message that keeps failing (transport) is dead */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  pollMs: number;
  concurrency: number;
  institution: string;
  /** Start the delivery worker (tests may drive it by hand) */
  worker: boolean;
}

declare module '../config.js' {
  interface GatewayConfig {
    outbox?: Partial<OutboxSettings>;
  }
}

export function outboxSettings(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): OutboxSettings {
  const num = (v: string | undefined, d: number) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? d : Number(v));
  return {
    risHost: env.RIS_HOST || (env.RIS_PORT ? '127.0.0.1' : undefined),
    risPort: env.RIS_PORT ? Number(env.RIS_PORT) : undefined,
    mllpPort: num(env.MLLP_PORT, 0) || undefined,
    mllpHost: env.MLLP_HOST ?? '127.0.0.1',
    ackTimeoutMs: num(env.HL7_ACK_TIMEOUT_MS, 10_000),
    leaseMs: Math.max(300, num(env.OUTBOX_LEASE_MS, 15_000)),
    aeRetries: num(env.HL7_AE_RETRIES, 3),
    maxAttempts: num(env.OUTBOX_MAX_ATTEMPTS, 200),
    baseDelayMs: num(env.OUTBOX_BASE_DELAY_MS, 1_000),
    maxDelayMs: num(env.OUTBOX_MAX_DELAY_MS, 300_000),
    pollMs: num(env.OUTBOX_POLL_MS, 500),
    concurrency: num(env.OUTBOX_CONCURRENCY, 4),
    institution: env.INSTITUTION_NAME ?? 'Reading Station Demo Hospital',
    worker: env.OUTBOX_WORKER !== '0',
    ...config.outbox,
  };
}
