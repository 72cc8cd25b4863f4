/**
 * Model registry and client AI results (issue 5):
 *  - GET  /api/models                      the registry: every valid manifest (invalid ones reported to admins)
 *  - GET  /models/:name/model.onnx         the model file, from our own server, cached long
 *  - GET  /ort/:file                       onnxruntime-web's .wasm/.mjs, from our own server (no CDN)
 *  - POST /api/studies/:study/ai-results   findings computed in the browser, validated, stored, audited
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import { LIMITS, TimingsSchema, parseFinding, type Finding } from '../../src/core/findings/finding.js';
import { ingest } from '../findings/ingest.js';
import { requireUser } from '../auth/plugin.js';
import { can } from '../../src/core/auth/permissions.js';
import { guardAiResults } from '../trust/service.js';

export const PROVIDERS = ['wasm', 'webgpu'] as const;
/** onnxruntime-web's entry modules (one per provider) and the WASM binaries + glue they load. */
const ORT_FILE = /^(ort\.(wasm|webgpu)\.min\.mjs|ort-wasm-simd-threaded(\.jsep|\.asyncify|\.jspi)?\.(wasm|mjs))$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

const AiResultsBody = z
  .object({
    // The same per-field limits as the stored finding's model reference (src/core/findings/finding.ts LIMITS).
    model: z.object({ name: z.string().min(1).max(LIMITS.modelName), version: z.string().min(1).max(LIMITS.modelVersion) }).strict(),
    provider: z.enum(PROVIDERS),
    timingsMs: TimingsSchema.default({}),
    findings: z.array(z.unknown()).max(500, 'at most 500 findings per request'),
  })
  .strict();

function ortDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's exports hide package.json; resolve the node entry and go to its folder.
  return path.dirname(require.resolve('onnxruntime-web'));
}

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  const { db } = store;
  // THE registry (gateway/ai/registry.ts), shared with the trust guard and the pre-read; re-read on change.
  const registry = () => ({ models: ctx.models.all(), errors: ctx.models.errors() });

  app.get('/api/models', { config: { permission: 'models.read' } }, async (req) => {
    const { models, errors } = registry();
    const role = requireUser(req).user.role;
    return {
      models: models.map((m) => ({ ...m.manifest, modelUrl: `/models/${m.manifest.name}/${m.manifest.files.model}` })),
      // Broken manifests are for those who maintain the registry, not for readers.
      ...(can(role, 'governance.read') ? { errors } : {}),
    };
  });

  app.get<{ Params: { name: string; file: string } }>('/models/:name/:file', { config: { public: true } }, async (req, reply) => {
    const m = registry().models.find((x) => x.manifest.name === req.params.name);
    if (!m || req.params.file !== m.manifest.files.model) return reply.code(404).send({ error: `no model file ${req.params.name}/${req.params.file}` });
    const file = path.join(m.dir, m.manifest.files.model);
    if (!fs.existsSync(file)) return reply.code(404).send({ error: `model ${m.manifest.name}: file missing` });
    // The ETag describes the bytes served (not what the manifest expects), so a replaced file is
    // never masked by a cached copy; the client checks the bytes against the manifest's sha256.
    const st = fs.statSync(file);
    const etag = `"${m.manifest.version}-${st.size}-${Math.round(st.mtimeMs)}"`;
    reply.header('etag', etag).header('cache-control', 'public, max-age=3600, must-revalidate');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/octet-stream').send(fs.createReadStream(file));
  });

  const ortDir = ortDistDir();
  app.get<{ Params: { file: string } }>('/ort/:file', { config: { public: true } }, async (req, reply) => {
    if (!ORT_FILE.test(req.params.file)) return reply.code(404).send({ error: `no runtime file ${req.params.file}` });
    const file = path.join(ortDir, req.params.file);
    if (!fs.existsSync(file)) return reply.code(404).send({ error: `no runtime file ${req.params.file}` });
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    return reply.type(file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript').send(fs.createReadStream(file));
  });

  app.post<{ Params: { study: string } }>('/api/studies/:study/ai-results', { config: { permission: 'findings.browser-ai' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const body = AiResultsBody.safeParse(req.body);
    if (!body.success) return reply.code(422).send({ error: 'invalid AI results', details: body.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) });
    const { model, provider, timingsMs } = body.data;
    const m = registry().models.find((x) => x.manifest.name === model.name);
    if (!m) return reply.code(422).send({ error: `model.name: no model ${model.name} in the registry` });
    if (m.manifest.version !== model.version) return reply.code(422).send({ error: `model.version: ${model.version} is not the registered version ${m.manifest.version}` });
    // Trust: disabled / rollout off / THE eligibility rule on the series the results are about (a perfusion map is refused).
    const seriesOf = (raw: unknown) => ((raw as { regions?: { image?: { seriesInstanceUID?: unknown } }[] } | null)?.regions ?? []).map((r) => r?.image?.seriesInstanceUID);
    const guard = await guardAiResults(ctx, study, m.manifest, body.data.findings.flatMap(seriesOf).filter((u): u is string => typeof u === 'string'));
    if (!guard.ok) return reply.code(409).send({ error: guard.reason });

    const details: string[] = [];
    const findings: Finding[] = [];
    body.data.findings.forEach((raw, i) => {
      const p = parseFinding(raw);
      if (!p.ok) return details.push(...p.errors.map((e) => `findings.${i}.${e}`));
      const f = p.value;
      if (f.studyInstanceUID !== study) details.push(`findings.${i}.studyInstanceUID: ${f.studyInstanceUID} is not study ${study}`);
      if (f.model.name !== model.name || f.model.version !== model.version) details.push(`findings.${i}.model: must be ${model.name} ${model.version}`);
      if (f.source !== 'client') details.push(`findings.${i}.source: must be client`);
      if (f.status !== 'ai-unverified') details.push(`findings.${i}.status: AI results arrive ai-unverified`);
      const r = raw as Record<string, unknown>;
      if (r && typeof r === 'object' && (r.verdict !== undefined || r.originalId !== undefined)) details.push(`findings.${i}: verdict and originalId are set by a radiologist's act, never by AI results`);
      const threshold = m.manifest.output.classes.find((c) => c.code.value === f.type.value && c.code.scheme === f.type.scheme)?.threshold;
      if (threshold === undefined) details.push(`findings.${i}.type: ${f.type.scheme} ${f.type.value} is not a class of ${model.name}`);
      else if (f.confidence < threshold) details.push(`findings.${i}.confidence: ${f.confidence} is below the model's threshold ${threshold}`);
      findings.push({ ...f, model: { ...f.model, executionProvider: provider, timingsMs: f.model.timingsMs ?? timingsMs } });
    });
    // All or nothing: one bad finding stores none of the request.
    if (details.length) return reply.code(422).send({ error: 'invalid AI results', details });

    // The one ingestion path: the server stamps source, model (the registry's), actor and time; a re-run
    // never undoes a verdict, supersedes this model's older unverified result; after sign-off it is kept apart.
    const out = await ingest(
      { db, events: ctx.events },
      {
        studyUID: study,
        source: 'client',
        actor: { username: s.user.username, role: s.user.role },
        model: { name: m.manifest.name, version: m.manifest.version, manufacturer: m.manifest.manufacturer, executionProvider: provider },
        findings,
        completeResultSet: true,
        detail: { provider },
      },
      // The request's own record, in the findings' transaction.
      (o) => ({
        actor: s.user.username,
        role: s.user.role,
        action: 'ai-results-received',
        studyUID: study,
        detail: { model: model.name, version: model.version, provider, timingsMs, findings: findings.length, stored: o.stored.length + o.unchanged.length, keptVerdicts: o.keptVerdict.length, superseded: o.superseded.map((f) => f.id), afterSignoff: o.afterSignoff.map((f) => f.id) },
      }),
    );
    const stored = out.stored.length + out.unchanged.length;
    const kept = out.keptVerdict.length;
    return reply.code(201).send({ stored, keptVerdicts: kept });
  });
}
