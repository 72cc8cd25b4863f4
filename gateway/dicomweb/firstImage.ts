/**
 * GET /api/studies/:studyUID/first-image: the frame a study opens on (first series, first slice in
 * display order, as the viewer orders them: src/core/imaging/stack.ts), in its stored transfer
 * syntax, with what it takes to display it in headers. The browser asks for it at page start, in
 * parallel with the study's metadata, instead of metadata first and then the frame: the choice is
 * made here, next to the PACS, so the first image does not wait for the page's main thread to parse
 * the metadata. The viewer later takes this same frame from memory instead of fetching it again.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config.js';
import { orthancAuthHeader } from './proxy.js';
import { firstImageOf } from '../../src/core/imaging/stack.js';
import { previewInfo } from '../../src/core/imaging/preview.js';
import { singlePart, transferSyntaxOf } from '../../src/core/dicomweb/multipart.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';
import type { Role } from '../../src/core/auth/roles.js';

const UID = /^[0-9.]{1,64}$/;
const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

export function registerFirstImage(app: FastifyInstance, config: GatewayConfig, roles: readonly Role[]): void {
  app.get<{ Params: { studyUID: string } }>('/api/studies/:studyUID/first-image', { config: { roles } }, async (req, reply) => {
    const { studyUID } = req.params;
    if (!UID.test(studyUID)) return reply.code(400).send({ error: 'studyUID must be a DICOM UID (digits and dots, at most 64)' });
    const base = config.orthancUrl + config.orthancDicomWebRoot;
    const auth = orthancAuthHeader(config);
    let meta: Response;
    try {
      meta = await fetch(`${base}/studies/${studyUID}/metadata`, { headers: { ...auth, accept: 'application/dicom+json' } });
    } catch {
      return reply.code(502).send({ error: 'PACS unreachable' });
    }
    if (!meta.ok) return reply.code(meta.status === 404 ? 404 : 502).send({ error: meta.status === 404 ? 'study not found on the PACS' : `PACS answered ${meta.status}` });
    const instances = (await meta.json()) as DicomJson[];
    const first = Array.isArray(instances) ? firstImageOf(studyUID, instances) : null;
    if (!first) return reply.code(404).send({ error: 'this study has no image series' });
    const info = previewInfo(first.instance);
    let frame: Response;
    try {
      frame = await fetch(base + first.framePath, { headers: { ...auth, accept: FRAME_ACCEPT } });
    } catch {
      return reply.code(502).send({ error: 'PACS unreachable' });
    }
    // E.g. 500 for a syntax Orthanc 1.10 cannot hand out as stored: the viewer's own loader copes.
    if (!frame.ok) return reply.code(502).send({ error: `PACS answered ${frame.status} for the first frame` });
    const part = singlePart(new Uint8Array(await frame.arrayBuffer()), frame.headers.get('content-type') ?? '');
    return reply
      .header('content-type', `application/octet-stream; transfer-syntax=${transferSyntaxOf(part.contentType)}`)
      .header('x-frame-path', first.framePath)
      .header('x-preview-info', encodeURIComponent(JSON.stringify(info)))
      .header('cache-control', 'private, no-store')
      .send(Buffer.from(part.bytes.buffer, part.bytes.byteOffset, part.bytes.byteLength));
  });
}
