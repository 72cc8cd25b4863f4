/**
 * THE Orthanc client of the gateway's own server code (pre-read, study facts, SR arrivals, the
 * sign-off's existence check, the SR guard): one base URL, one set of credentials, one DICOMweb root
 * and a timeout on every call, built once per gateway (ctx.orthanc). The DICOMweb proxy forwards
 * browser requests itself and is not a user of this.
 *
 * Plain data plus functions rather than a class: the pre-read hands the client to its inference
 * worker threads, and only plain data survives the structured clone.
 */
import type { GatewayConfig } from '../config.js';
import { fetchOrthanc } from './http.js';

export interface OrthancClient {
  /** Base URL of Orthanc's REST API, no trailing slash. */
  url: string;
  /** Authorization header value, or undefined when Orthanc has no auth. */
  auth?: string;
  /** Orthanc's DICOMweb root below `url` (config.orthancDicomWebRoot), no trailing slash. */
  dicomWebRoot: string;
  /** Default per-call timeout; a call may pass its own signal. */
  timeoutMs: number;
}

export const DEFAULT_ORTHANC_TIMEOUT_MS = 30_000;

export function orthancClient(cfg: Pick<GatewayConfig, 'orthancUrl' | 'orthancUser' | 'orthancPassword'> & { orthancDicomWebRoot?: string }, timeoutMs = DEFAULT_ORTHANC_TIMEOUT_MS): OrthancClient {
  const auth = cfg.orthancUser ? 'Basic ' + Buffer.from(`${cfg.orthancUser}:${cfg.orthancPassword ?? ''}`).toString('base64') : undefined;
  return { url: cfg.orthancUrl.replace(/\/$/, ''), auth, dicomWebRoot: (cfg.orthancDicomWebRoot ?? '/dicom-web').replace(/\/$/, ''), timeoutMs };
}

export class OrthancError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One request with the client's credentials and timeout; the answer whatever its status. */
export function orthancFetch(o: OrthancClient, pathname: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
  const { timeoutMs, ...rest } = init;
  const headers: Record<string, string> = { ...(rest.headers as Record<string, string> | undefined) };
  if (o.auth) headers.authorization = o.auth;
  return fetchOrthanc(o.url + pathname, { ...rest, headers, signal: rest.signal ?? AbortSignal.timeout(timeoutMs ?? o.timeoutMs) });
}

/** JSON from Orthanc; a non-2xx answer is an OrthancError carrying the status (never the body: it may quote a patient). */
export async function orthancJson<T>(o: OrthancClient, pathname: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<T> {
  const r = await orthancFetch(o, pathname, init);
  if (!r.ok) throw new OrthancError(`Orthanc ${init.method ?? 'GET'} ${pathname.split('?')[0]}: HTTP ${r.status}`, r.status);
  return (await r.json()) as T;
}

export function orthancGet<T>(o: OrthancClient, pathname: string, signal?: AbortSignal): Promise<T> {
  return orthancJson<T>(o, pathname, signal ? { signal } : {});
}

export function orthancPostJson<T>(o: OrthancClient, pathname: string, body: unknown, timeoutMs?: number): Promise<T> {
  return orthancJson<T>(o, pathname, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs });
}

/** A DICOMweb path under the configured root (ORTHANC_DICOMWEB_ROOT), e.g. `/studies/1.2/series/3.4/metadata`. */
export function dicomWebPath(o: OrthancClient, pathname: string): string {
  return o.dicomWebRoot + pathname;
}
