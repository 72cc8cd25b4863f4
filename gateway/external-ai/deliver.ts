/**
 * One external AI job, as an outbox delivery (kind `external-ai`: the outbox's durable rows, claims,
 * leases and back-off; an endpoint that is down is retried, nothing is lost):
 *  1. the study's image instances from the PACS, each de-identified (src/core/deid, the same
 *     de-identifier as the feedback export) with the job's UID map: HMAC under a secret kept in the
 *     job row, so every attempt sends the same de-identified UIDs and the reverse map can be rebuilt
 *     after a restart; it never leaves the gateway;
 *  2. STOW-RS of those instances to `<url>/studies` (multipart/related; type="application/dicom");
 *  3. the results from `<url>/results/<de-identified study UID>` (200 JSON, or a TID 1500 DICOM SR as
 *     `application/dicom`; 202/404: not ready, retried);
 *  4. re-identified (results.ts) and stored on the original study through THE ingestion path
 *     (gateway/findings/ingest.ts), source `preread` (a server-side AI run) with the model stamped
 *     from the registry by the server, as one complete result set of that model; the AI result SR and
 *     the preliminary ORU follow as for a local model's result (outbox/events.ts onAiResultReady).
 * Each export is audited (`external-ai-export`: how many instances, how many refused, where to —
 * the host, never the patient), and so is the return (`external-ai-results`).
 */
import crypto from 'node:crypto';
import type { GatewayContext } from '../context.js';
import { appendAudit, withAudit, type AuditEvent } from '../audit/audit.js';
import { DeliveryError } from '../outbox/deliver.js';
import { announceIngest, ingestFindings } from '../findings/ingest.js';
import { onAiResultReady } from '../outbox/events.js';
import { BurnedInAnnotationError, deidentify } from '../../src/core/deid/deidentify.js';
import { readDataset, str, writeDataset } from '../../src/core/deid/part10.js';
import { createUidMap } from '../deid/uid-map.js';
import { instanceFile, studyImages } from '../deid/pacs.js';
import { RemoteResultSchema, reidentify, type OriginalInstance } from './results.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { polylineAsBox, readMeasurementReport } from '../../src/core/sr/reader.js';
import type { ModelRuntime } from '../../src/core/ai/manifest.js';

export const ACTOR = 'external-ai';

export interface ExternalAiPayload {
  type: 'external-ai';
  model: string;
  studyUID: string;
  /** Hex secret of this job's UID map (server-side only). */
  secret: string;
  requestedBy: string;
}

type Remote = Extract<ModelRuntime, { kind: 'remote' }>;

/** multipart/related body of Part 10 instances (PS3.18 STOW-RS). */
export function multipartRelated(parts: Uint8Array[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(p), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function headers(rt: Remote, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (rt.tokenEnv) {
    const t = process.env[rt.tokenEnv];
    if (!t) throw new DeliveryError(`the credential variable ${rt.tokenEnv} is not set`, true);
    h.authorization = `Bearer ${t}`;
  }
  return h;
}

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    // Unreachable, refused, timed out: the endpoint's outage, retried with back-off.
    throw new DeliveryError(`external AI endpoint unreachable: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, true);
  }
}

/** A TID 1500 SR answer as the JSON result shape: one entry per boxed region (polygons as their box). */
export function resultFromSr(bytes: Uint8Array): unknown {
  const ds = parseDicomPart10(bytes);
  const r = readMeasurementReport(ds);
  return {
    studyInstanceUID: r.document.studyInstanceUID ?? String(ds.StudyInstanceUID ?? ''),
    findings: r.findings.flatMap((f) =>
      f.regions.flatMap((g) => {
        const box = g.box ?? (g.polygon ? polylineAsBox(g.polygon as [number, number][]) : undefined);
        return box ? [{ sopInstanceUID: g.image.sopInstanceUID, ...(g.image.frameNumber ? { frameNumber: g.image.frameNumber } : {}), code: f.type, confidence: f.confidence, box }] : [];
      }),
    ),
  };
}

export async function deliverExternalAi(ctx: GatewayContext, p: ExternalAiPayload): Promise<string> {
  const reg = ctx.models.get(p.model);
  const rt = reg?.manifest.runtime;
  if (!reg || rt?.kind !== 'remote') throw new DeliveryError(`model ${p.model} is no longer a remote model of the registry`, false);
  const manifest = reg.manifest;
  const base = rt.url.replace(/\/$/, '');

  const images = await studyImages(ctx.orthanc, p.studyUID).catch((e: Error) => {
    throw new DeliveryError(`PACS: ${e.message}`, true);
  });
  if (!images?.length) throw new DeliveryError('the study has no images in the PACS', false);
  const map = createUidMap(Buffer.from(p.secret, 'hex'));
  const deidStudy = map.remap(p.studyUID);
  const instances = new Map<string, OriginalInstance>(images.map((i) => [i.sopInstanceUID, { sopInstanceUID: i.sopInstanceUID, seriesInstanceUID: i.seriesInstanceUID }]));
  const parts: Uint8Array[] = [];
  let burnedIn = 0;
  let unreadable = 0;
  for (const img of images) {
    const bytes = await instanceFile(ctx.orthanc, img.orthancId).catch((e: Error) => {
      throw new DeliveryError(`PACS: ${e.message}`, true);
    });
    try {
      const out = deidentify(readDataset(bytes), { remapUid: map.remap });
      // Every identifier that could leave is the map's: the reverse lookup below relies on it.
      if (str(out.dict, '0020000D') !== deidStudy) throw new Error('study UID not remapped');
      parts.push(writeDataset(out));
    } catch (e) {
      if (e instanceof BurnedInAnnotationError) burnedIn++;
      else unreadable++;
    }
  }
  const host = new URL(base).host;
  if (!parts.length) {
    await appendAudit(ctx.db, { actor: ACTOR, action: 'external-ai-export', outcome: 8, studyUID: p.studyUID, detail: { model: p.model, host, instances: 0, refused: { burnedInAnnotation: burnedIn, unreadable } } });
    throw new DeliveryError('no instance of the study could be de-identified (burned-in annotation or unreadable)', false);
  }

  const boundary = `rs-${crypto.randomBytes(12).toString('hex')}`;
  const stow = await call(`${base}/studies`, { method: 'POST', headers: headers(rt, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' }), body: new Uint8Array(multipartRelated(parts, boundary)) }, rt.timeoutMs);
  await stow.arrayBuffer().catch(() => undefined);
  // Audited as sent only once the endpoint took it; what was sent, counted; where, the host.
  await appendAudit(ctx.db, {
    actor: ACTOR,
    action: 'external-ai-export',
    outcome: stow.ok ? 0 : 4,
    studyUID: p.studyUID,
    detail: { model: p.model, version: manifest.version, host, status: stow.status, instances: parts.length, refused: { burnedInAnnotation: burnedIn, unreadable }, deidStudyUID: deidStudy, requestedBy: p.requestedBy },
  });
  if (!stow.ok) throw new DeliveryError(`external AI STOW answered ${stow.status}`, stow.status >= 500 || stow.status === 429 || stow.status === 408);

  const res = await call(`${base}/results/${deidStudy}`, { headers: headers(rt, { accept: 'application/json, application/dicom' }) }, rt.timeoutMs);
  if (res.status === 202 || res.status === 404) throw new DeliveryError(`external AI results not ready (${res.status})`, true);
  if (!res.ok) throw new DeliveryError(`external AI results answered ${res.status}`, res.status >= 500 || res.status === 429);
  let body: unknown;
  try {
    const type = res.headers.get('content-type') ?? '';
    // A DICOM SR (TID 1500) instead of JSON: read by the project's SR reader, in the same UID space.
    body = /^application\/dicom(;|$)/i.test(type) ? resultFromSr(new Uint8Array(await res.arrayBuffer())) : await res.json();
  } catch {
    throw new DeliveryError('external AI results are neither JSON nor a readable DICOM SR', false);
  }
  const parsed = RemoteResultSchema.safeParse(body);
  if (!parsed.success) throw new DeliveryError(`external AI results do not match the expected shape: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`, false);
  let re;
  try {
    re = reidentify(parsed.data, { deidStudyUID: deidStudy, originalStudyUID: p.studyUID, reverse: map.reverse, instances, manifest });
  } catch (e) {
    throw new DeliveryError((e as Error).message, false);
  }
  const model = { name: manifest.name, version: manifest.version, manufacturer: manifest.manufacturer };
  // As the pre-read does with a local model's result: stored through THE ingestion path, and the AI result
  // SR and preliminary ORU enqueued in the same transaction; triage and live views follow the domain event.
  const outcome = await withAudit(ctx.db, async (trx) => {
    const o = await ingestFindings(trx, { studyUID: p.studyUID, source: 'preread', actor: { username: ACTOR }, model, findings: re.findings as never, completeResultSet: true, detail: { via: 'external-ai', host } });
    if (o.stored.length) await onAiResultReady(trx, { studyInstanceUID: p.studyUID, findings: o.stored, model });
    const received: AuditEvent = {
      actor: ACTOR,
      action: 'external-ai-results',
      studyUID: p.studyUID,
      detail: { model: p.model, version: manifest.version, host, received: parsed.data.findings.length, stored: o.stored.length, unchanged: o.unchanged.length, refused: re.refused.length, refusedReasons: [...new Set(re.refused.map((r) => r.reason))] },
    };
    return { value: o, audit: [...o.audit, received] };
  });
  announceIngest({ db: ctx.db, events: ctx.events }, outcome);
  return `${re.findings.length} finding(s) from ${host}`;
}
