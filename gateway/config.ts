/** Gateway configuration from the environment. Loopback by default; nothing listens wider unless asked. */
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
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return {
    host: env.GATEWAY_HOST ?? '127.0.0.1',
    port: Number(env.GATEWAY_PORT ?? 8080),
    orthancUrl: env.ORTHANC_URL ?? 'http://127.0.0.1:8042',
    orthancDicomWebRoot: env.ORTHANC_DICOMWEB_ROOT ?? '/dicom-web',
    orthancUser: env.ORTHANC_USER,
    orthancPassword: env.ORTHANC_PASSWORD,
    database: env.DATABASE ?? '.data/gateway.sqlite',
    staticDir: env.STATIC_DIR ?? 'dist',
    modelsDir: env.MODELS_DIR ?? 'models',
    demo: env.DEMO === '1' || env.DEMO === 'true',
    sessionTtlMs: Number(env.SESSION_TTL_MS ?? 8 * 3600_000),
    // Not a positive number (a typo): the default, never "every session is already idle".
    sessionIdleMs: Number(env.SESSION_IDLE_MS) > 0 ? Number(env.SESSION_IDLE_MS) : 30 * 60_000,
    secureCookies: env.SECURE_COOKIES === '1',
    publicOrigin: env.PUBLIC_ORIGIN || undefined,
    auditKey: env.AUDIT_KEY || undefined,
    auditKeyFile: env.AUDIT_KEY_FILE || undefined,
  };
}
