/**
 * Gateway configuration from the environment, validated at start (zod): a variable that is set must be
 * valid, and each bad one is named in the error. Loopback by default; nothing listens wider unless asked.
 */
import net from 'node:net';
import { z } from 'zod';

export interface GatewayConfig {
  host: string;
  port: number;
  /** Base URL of Orthanc's REST API, e.g. http://127.0.0.1:8042 */
  orthancUrl: string;
  /** Orthanc's DICOMweb root below orthancUrl */
  orthancDicomWebRoot: string;
  orthancUser?: string;
  orthancPassword?: string;
  /** SQLite file path, or a postgres:// URL */
  database: string;
  /** Directory with the built viewer (vite build output); not served when absent */
  staticDir?: string;
  /** Directory holding models/<name>/manifest.json + model.onnx */
  modelsDir: string;
  /** Demo mode seeds demo users with published passwords; outside demo mode they are refused */
  demo: boolean;
  sessionTtlMs: number;
  /** A session ends after this long without a request (sliding); env SESSION_IDLE_MS, default 30 min */
  sessionIdleMs: number;
  /** Set the Secure flag on cookies (behind TLS) */
  secureCookies: boolean;
  /**
   * The origin browsers reach the gateway at (env PUBLIC_ORIGIN, e.g. https://reading.example.org), for
   * the URLs Orthanc writes into DICOMweb answers. Default: the address the connection was accepted on.
   * The request's Host header is never used.
   */
  publicOrigin?: string;
  /** The audit MAC key (env AUDIT_KEY: 64 hex characters, or at least 32 characters); see gateway/audit/key.ts */
  auditKey?: string;
  /** The audit key file (env AUDIT_KEY_FILE); default `<database>.audit-key`, created 0600 on first start */
  auditKeyFile?: string;
  /** Prometheus scrape listener (env METRICS_PORT; off when unset), GET /metrics without log-in. */
  metricsPort?: number;
  /** Its address (env METRICS_HOST, default 127.0.0.1: loopback, since it has no authentication). */
  metricsHost: string;
  /**
   * The reverse proxies whose X-Forwarded-For is believed (env TRUST_PROXY: comma-separated addresses or
   * CIDRs, e.g. 127.0.0.1 for the nginx of `npm run scale`). Unset: off, req.ip is the connection's address
   * and X-Forwarded-* from clients is ignored (the log-in throttle keys by req.ip, so a forged header
   * must never count).
   */
  trustProxy?: string[];
  /**
   * The FHIR R4 endpoint signed results go to (env FHIR_URL: a FHIR server's base or transaction URL, http(s),
   * no credentials in it); unset: no FHIR results. A DiagnosticReport bundle per sign-off and addendum goes
   * through the outbox (gateway/outbox/events.ts).
   */
  fhirUrl?: string;
}

/** A bad configuration: one line per variable, naming it, what it was given and what it must be. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const positiveMs = z.coerce.number({ error: 'a positive whole number of milliseconds' }).int('a positive whole number of milliseconds').positive('a positive whole number of milliseconds');
const flag = z.enum(['', '0', '1', 'true', 'false'], { error: 'one of 1, true, 0, false' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' });
const databaseLocation = z
  .string()
  .min(1, 'a SQLite file path, :memory: or a postgres:// URL')
  .refine((v) => !/^postgres(ql)?:/.test(v) || URL.canParse(v), 'a postgres:// URL that parses (postgres://user:password@host:5432/database)')
  .refine((v) => /^postgres(ql)?:\/\//.test(v) || !v.includes('://'), 'a SQLite file path or a postgres:// URL (no other database is supported)');

/**
 * Each variable the gateway reads, with what it must be. Unset means the default; set means it must
 * be valid: a typo stops the start with a message naming the variable, never a silent default.
 */
const ENV = z.object({
  GATEWAY_HOST: z.string().min(1, 'a host name or address').default('127.0.0.1'),
  GATEWAY_PORT: z.coerce.number({ error: 'a port 0-65535' }).int('a port 0-65535').min(0, 'a port 0-65535').max(65535, 'a port 0-65535').default(8080),
  ORTHANC_URL: httpUrl.default('http://127.0.0.1:8042'),
  ORTHANC_DICOMWEB_ROOT: z.string().startsWith('/', 'a path starting with /').default('/dicom-web'),
  ORTHANC_USER: z.string().optional(),
  ORTHANC_PASSWORD: z.string().optional(),
  DATABASE: databaseLocation.default('.data/gateway.sqlite'),
  STATIC_DIR: z.string().default('dist'),
  MODELS_DIR: z.string().min(1, 'a directory').default('models'),
  DEMO: flag.default(''),
  SESSION_TTL_MS: positiveMs.default(8 * 3600_000),
  SESSION_IDLE_MS: positiveMs.default(30 * 60_000),
  SECURE_COOKIES: flag.default(''),
  PUBLIC_ORIGIN: z
    .union([z.literal(''), httpUrl.refine((v) => new URL(v).origin === v.replace(/\/$/, ''), 'an origin only: scheme, host and port, no path')])
    .default(''),
  AUDIT_KEY: z.union([z.literal(''), z.string().min(32, '64 hex characters, or at least 32 characters')]).default(''),
  AUDIT_KEY_FILE: z.string().default(''),
  METRICS_PORT: z.coerce.number({ error: 'a port 0-65535' }).int('a port 0-65535').min(0, 'a port 0-65535').max(65535, 'a port 0-65535').optional(),
  METRICS_HOST: z.string().min(1, 'a host name or address').default('127.0.0.1'),
  TRUST_PROXY: z
    .string()
    .refine(
      (v) => v.trim() === '' || v.split(',').every((a) => /^\s*(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/\d{1,3})?)\s*$/.test(a) && net.isIP(a.trim().split('/')[0]) !== 0),
      'comma-separated IP addresses or CIDRs of the reverse proxies (e.g. 127.0.0.1)',
    )
    .default(''),
  FHIR_URL: z
    .union([
      z.literal(''),
      httpUrl.refine((v) => {
        const u = URL.canParse(v) ? new URL(v) : null;
        return !u || (!u.username && !u.password);
      }, 'an http:// or https:// URL without credentials in it (the FHIR server base or transaction URL, e.g. https://fhir.example.org/r4)'),
    ])
    .default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'one of fatal, error, warn, info, debug, trace, silent' }).optional(),
});

const EMPTY_IS_UNSET = new Set(['METRICS_PORT', 'METRICS_HOST', 'LOG_LEVEL', 'GATEWAY_HOST', 'GATEWAY_PORT', 'ORTHANC_URL', 'ORTHANC_DICOMWEB_ROOT', 'DATABASE', 'MODELS_DIR', 'SESSION_TTL_MS', 'SESSION_IDLE_MS', 'TRUST_PROXY']);

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // An empty value counts as unset where a default applies (`GATEWAY_PORT= npm start` is no typo).
  const given = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in ENV.shape && !(v === '' && EMPTY_IS_UNSET.has(k))));
  const parsed = ENV.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0]);
        // A URL with credentials in it is not echoed either.
        const value = name === 'AUDIT_KEY' || name === 'ORTHANC_PASSWORD' || (name === 'FHIR_URL' && String(env[name]).includes('@')) ? '(hidden)' : JSON.stringify(env[name]);
        return `${name}=${value}: must be ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const on = (v: string) => v === '1' || v === 'true';
  return {
    host: e.GATEWAY_HOST,
    port: e.GATEWAY_PORT,
    orthancUrl: e.ORTHANC_URL,
    orthancDicomWebRoot: e.ORTHANC_DICOMWEB_ROOT,
    orthancUser: e.ORTHANC_USER,
    orthancPassword: e.ORTHANC_PASSWORD,
    database: e.DATABASE,
    staticDir: e.STATIC_DIR,
    modelsDir: e.MODELS_DIR,
    demo: on(e.DEMO),
    sessionTtlMs: e.SESSION_TTL_MS,
    sessionIdleMs: e.SESSION_IDLE_MS,
    secureCookies: on(e.SECURE_COOKIES),
    publicOrigin: e.PUBLIC_ORIGIN || undefined,
    auditKey: e.AUDIT_KEY || undefined,
    auditKeyFile: e.AUDIT_KEY_FILE || undefined,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    trustProxy: e.TRUST_PROXY.trim() ? e.TRUST_PROXY.split(',').map((a) => a.trim()) : undefined,
    fhirUrl: e.FHIR_URL.trim() || undefined,
  };
}
