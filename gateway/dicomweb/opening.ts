/**
 * GET /api/studies/:studyUID/opening: the series a study opens on, as one stream, in display order.
 * Part 1 (JSON) lists every frame's WADO-RS path and the display fields of the first; then come the
 * frames, each in its stored transfer syntax with its own Content-Location and Content-Length.
 *
 * Why: on a viewer deep link the browser asks for this at page start, in parallel with the study's
 * metadata. The choice of series and slice order is made here, next to the PACS (the viewer's own
 * rules, src/core/imaging/stack.ts), so the first image does not wait for the page to parse the
 * metadata, and one stream fed by parallel PACS requests is not held to the browser's six
 * connections per host. The order comes from Orthanc's index where it can (opening-index.ts), so
 * the first frame does not wait for every file of a long series to be parsed. The viewer then takes these frames from memory instead of asking again.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import type { PhiReadAudit } from './phi-audit.js';
import { firstImageOf, framePath, type StackEntry } from '../../src/core/imaging/stack.js';
import { openingFromIndex } from './opening-index.js';
import { previewInfo } from '../../src/core/imaging/preview.js';
import { singlePart, transferSyntaxOf } from '../../src/core/dicomweb/multipart.js';
import { PART_END, closing, partHead } from '../../src/core/dicomweb/partStream.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';
import { fetchOrthanc } from '../orthanc/http.js';

const UID = /^[0-9.]{1,64}$/;
const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
/** PACS requests in flight at once: ahead of the writer, not more (Orthanc shares the cores). */
const AHEAD = 6;
/** Longer stacks (multi-frame cines) are left to the viewer's own loading. */
const MAX_FRAMES = 400;

export interface OpeningManifest {
  frames: string[];
  preview: ReturnType<typeof previewInfo>;
  /** Where the order came from: Orthanc's index (opening-index.ts) or the study's whole metadata. */
  source: 'index' | 'metadata';
}

export function registerOpening(app: FastifyInstance, ctx: GatewayContext, audit: PhiReadAudit): void {
  // THE gateway Orthanc client's base, credentials and DICOMweb root; no client timeout: frames stream for as long as the browser reads.
  const { orthanc } = ctx;
  app.get<{ Params: { studyUID: string } }>('/api/studies/:studyUID/opening', { config: { permission: 'dicomweb.read' } }, async (req, reply) => {
    const { studyUID } = req.params;
    if (!UID.test(studyUID)) return reply.code(400).send({ error: 'studyUID must be a DICOM UID (digits and dots, at most 64)' });
    const base = orthanc.url + orthanc.dicomWebRoot;
    const auth: Record<string, string> = orthanc.auth ? { authorization: orthanc.auth } : {};
    // The index first (cheap: no file is parsed); the study's whole metadata where it cannot decide.
    let first: { entries: StackEntry[]; instance: DicomJson } | null = await openingFromIndex(orthanc, studyUID).catch(() => null);
    const source: OpeningManifest['source'] = first ? 'index' : 'metadata';
    if (!first) {
      let meta: Response;
      try {
        meta = await fetchOrthanc(`${base}/studies/${studyUID}/metadata`, { headers: { ...auth, accept: 'application/dicom+json' } });
      } catch {
        return reply.code(502).send({ error: 'PACS unreachable' });
      }
      if (!meta.ok) return reply.code(meta.status === 404 ? 404 : 502).send({ error: meta.status === 404 ? 'study not found on the PACS' : `PACS answered ${meta.status}` });
      const instances = (await meta.json()) as DicomJson[];
      first = Array.isArray(instances) ? firstImageOf(studyUID, instances) : null;
    }
    if (!first) return reply.code(404).send({ error: 'this study has no image series' });
    const paths = first.entries.slice(0, MAX_FRAMES).map((e) => framePath(studyUID, e));
    // A PHI read (metadata and pixels of the study): audited, once per session and study in the window.
    await audit.record(req.session!, studyUID, 'opening');
    const manifest: OpeningManifest = { frames: paths, preview: previewInfo(first.instance), source };

    const aborted = new AbortController();
    // The client went away before the stream was written out (not the request's 'close': see proxy.ts).
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });
    const getFrame = async (path: string): Promise<{ bytes: Uint8Array; syntax: string } | null> => {
      try {
        const r = await fetchOrthanc(base + path, { headers: { ...auth, accept: FRAME_ACCEPT }, signal: aborted.signal });
        // E.g. 500 for a syntax Orthanc 1.10 cannot hand out as stored: the viewer's loader copes.
        if (!r.ok) return null;
        const part = singlePart(new Uint8Array(await r.arrayBuffer()), r.headers.get('content-type') ?? '');
        return { bytes: part.bytes, syntax: transferSyntaxOf(part.contentType) };
      } catch {
        return null;
      }
    };
    const boundary = `rs-opening-${Math.random().toString(36).slice(2)}`;
    async function* body(): AsyncGenerator<Uint8Array> {
      const json = new TextEncoder().encode(JSON.stringify(manifest));
      yield partHead(boundary, { 'Content-Type': 'application/json' }, json.length);
      yield json;
      yield PART_END;
      // In order, with up to AHEAD requests running ahead of the one being written; the first
      // frame alone, though: it is the one the reader is waiting to see.
      const pending: Promise<{ bytes: Uint8Array; syntax: string } | null>[] = [];
      let next = 0;
      let ahead = 1;
      const refill = () => {
        while (next < paths.length && pending.length < ahead) pending.push(getFrame(paths[next++]));
        ahead = AHEAD;
      };
      refill();
      for (const path of paths) {
        const f = await pending.shift()!;
        refill();
        if (aborted.signal.aborted) return;
        if (!f) continue;
        yield partHead(boundary, { 'Content-Type': `application/octet-stream; transfer-syntax=${f.syntax}`, 'Content-Location': `/dicom-web${path}` }, f.bytes.length);
        yield f.bytes;
        yield PART_END;
      }
      yield closing(boundary);
    }
    return reply
      .header('content-type', `multipart/related; type="application/octet-stream"; boundary=${boundary}`)
      .header('cache-control', 'private, no-store')
      .send(Readable.from(body()));
  });
}
