/**
 * THE eligibility rule: whether a model may run on a series, and why not. One function, called by
 * the browser before it runs a model, by the gateway's pre-read routing, by the guard on AI results
 * and by /api/studies/:s/ai-status, always on facts from src/core/study/facts.ts: for the same study
 * every one of them gives the same answer and the same reason string.
 *
 * Covers the manifest's indication (modality, body part, age, contraindications named in the order)
 * and its input domain (ImageType, slice thickness, pixel spacing). Isomorphic.
 */
import type { ModelManifest } from './manifest.js';
import type { SeriesFacts } from '../study/facts.js';

/** How far a series got through the checks: the refusal that got furthest is the most telling one. */
export const ELIGIBILITY_STAGES = ['modality', 'body-part', 'age', 'domain', 'order'] as const;
export type EligibilityStage = (typeof ELIGIBILITY_STAGES)[number];

export type Eligibility = { ok: true } | { ok: false; stage: EligibilityStage; reason: string };

export type EligibilityManifest = Pick<ModelManifest, 'indication'> & { domain?: Partial<ModelManifest['domain']> };

/** Body Part Examined values that mean the same region (scanners disagree). */
const BODY_PART_SYNONYMS: Record<string, string[]> = {
  HEAD: ['HEAD', 'BRAIN', 'SKULL', 'CEREBRUM'],
  CHEST: ['CHEST', 'THORAX', 'LUNG', 'LUNGS'],
};

export function canonicalBodyPart(p: string): string {
  const u = p.trim().toUpperCase();
  for (const [canon, alts] of Object.entries(BODY_PART_SYNONYMS)) if (alts.includes(u)) return canon;
  return u;
}

/** Completed years, as ages are counted (9.7 → 9). */
const years = (age: number) => Math.floor(age + 1e-9);
const mm = (v: number) => String(Math.round(v * 1000) / 1000);
const range = (r: { min: number; max: number }) => `${mm(r.min)}-${mm(r.max)} mm`;
const refuse = (stage: EligibilityStage, reason: string): Eligibility => ({ ok: false, stage, reason });

/**
 * Whether a model may run on a series. Unknown body part or age does not exclude (many real headers
 * lack them; the modality must still match); a known value outside the indication does. The input
 * domain is stricter: what the manifest declares must be present and inside (an image without
 * ImageType, or without the slice thickness a model declares, is outside).
 */
export function eligibility(manifest: EligibilityManifest, facts: SeriesFacts): Eligibility {
  const ind = manifest.indication;
  const modality = (facts.modality ?? '').trim().toUpperCase();
  if (!ind.modalities.map((m) => m.toUpperCase()).includes(modality)) {
    return refuse('modality', `outside indication: modality ${modality || '(none)'} not in ${ind.modalities.join('/')}`);
  }
  if (facts.bodyPart && ind.bodyParts.length) {
    if (!ind.bodyParts.map(canonicalBodyPart).includes(canonicalBodyPart(facts.bodyPart))) {
      return refuse('body-part', `outside indication: body part ${facts.bodyPart.trim().toUpperCase()} not in ${ind.bodyParts.join('/')}`);
    }
  }
  if (facts.ageYears !== null && Number.isFinite(facts.ageYears)) {
    const age = years(facts.ageYears);
    if (age < ind.ageYears.min) return refuse('age', `outside indication: age ${age} < ${ind.ageYears.min}`);
    if (age > ind.ageYears.max) return refuse('age', `outside indication: age ${age} > ${ind.ageYears.max}`);
  }
  const domain = manifest.domain ?? {};
  const wantType = (domain.imageType ?? ['ORIGINAL', 'PRIMARY']).map((v) => v.toUpperCase());
  if (!facts.imageType.length) return refuse('domain', `outside input domain: image type unknown (the model takes ${wantType.join('\\')} images)`);
  if (wantType.some((v, i) => facts.imageType[i] !== v)) {
    return refuse('domain', `outside input domain: image type ${facts.imageType.join('\\')} is not ${wantType.join('\\')}`);
  }
  if (domain.sliceThicknessMm) {
    const r = domain.sliceThicknessMm;
    const t = facts.sliceThickness;
    if (t === null) return refuse('domain', `outside input domain: slice thickness unknown (the model takes ${range(r)})`);
    if (t < r.min || t > r.max) return refuse('domain', `outside input domain: slice thickness ${mm(t)} mm not in ${range(r)}`);
  }
  if (domain.pixelSpacingMm) {
    const r = domain.pixelSpacingMm;
    const ps = facts.pixelSpacing;
    if (ps === null) return refuse('domain', `outside input domain: pixel spacing unknown (the model takes ${range(r)})`);
    const out = ps.find((v) => v < r.min || v > r.max);
    if (out !== undefined) return refuse('domain', `outside input domain: pixel spacing ${mm(out)} mm not in ${range(r)}`);
  }
  const ci = facts.clinicalIndication?.toLowerCase() ?? '';
  const contra = ci ? ind.contraindications.find((c) => ci.includes(c.toLowerCase())) : undefined;
  if (contra) return refuse('order', `contraindicated by order: ${contra}`);
  return { ok: true };
}

/** What an eligible series is, in words ("indicated: CT HEAD, age 45"). */
export function indicatedReason(facts: SeriesFacts): string {
  return `indicated: ${facts.modality ?? ''}${facts.bodyPart ? ' ' + facts.bodyPart : ''}${facts.ageYears !== null ? `, age ${years(facts.ageYears)}` : ''}`;
}

export type SeriesChoice = { ok: true; series: SeriesFacts; reason: string } | { ok: false; reason: string; stage?: EligibilityStage; series?: SeriesFacts };

/** The study's modality is unknown (PACS unreachable, no image series): nothing can be matched. */
export const UNKNOWN_STUDY_REASON = 'outside indication: study modality unknown';

/**
 * The study-level rule: the largest eligible image series (series are tried largest first). When
 * none is, the refusal that got furthest through the checks (a CT HEAD perfusion map says "image type",
 * not "modality"), the largest such series on a tie. With `seriesUID`, only that series is judged
 * (the browser runs on the series on screen).
 */
export function studyEligibility(manifest: EligibilityManifest, study: { series?: readonly SeriesFacts[] } | null | undefined, seriesUID?: string | null): SeriesChoice {
  const all = [...(study?.series ?? [])].sort((a, b) => b.instanceCount - a.instanceCount);
  const candidates = seriesUID ? all.filter((s) => s.seriesInstanceUID === seriesUID) : all;
  if (!all.length) return { ok: false, reason: UNKNOWN_STUDY_REASON };
  if (!candidates.length) return { ok: false, reason: `series ${seriesUID} is not an image series of this study` };
  let best: { stage: EligibilityStage; reason: string; series: SeriesFacts } | null = null;
  for (const s of candidates) {
    const r = eligibility(manifest, s);
    if (r.ok) return { ok: true, series: s, reason: indicatedReason(s) };
    if (!best || ELIGIBILITY_STAGES.indexOf(r.stage) > ELIGIBILITY_STAGES.indexOf(best.stage)) best = { stage: r.stage, reason: r.reason, series: s };
  }
  return { ok: false, ...best! };
}

/** The server's verdict on one model for a study (or one of its series), as /api/studies/:s/ai-status gives it. */
export interface ServerModelVerdict {
  name: string;
  version?: string;
  /** The core eligibility on the server's facts. */
  eligible: boolean;
  eligibilityReason?: string | null;
  /** shown | silent | off | outside-indication | disabled */
  state: string;
  reason?: string | null;
}

export type RunDecision<M> = { run: M } | { run: null; reason: string; model?: string };

/**
 * The browser's decision: a model runs only when the core eligibility on the browser's own facts
 * says yes AND the server's verdict for the same series says yes and shows its results (not
 * disabled, not silent, not off). Otherwise the most telling refusal, from whichever side refused.
 * With no server verdict the browser does not run anything.
 */
export function decideRun<M extends EligibilityManifest & { name: string; version: string }>(models: readonly M[], facts: SeriesFacts, server: readonly ServerModelVerdict[]): RunDecision<M> {
  // Refusal ranks: the eligibility stages, then the server's policy (disable, rollout) above them.
  let best: { rank: number; reason: string; model: string } | null = null;
  const note = (rank: number, reason: string, model: string) => {
    if (!best || rank > best.rank) best = { rank, reason, model };
  };
  for (const m of models) {
    const local = eligibility(m, facts);
    if (!local.ok) {
      note(ELIGIBILITY_STAGES.indexOf(local.stage), local.reason, m.name);
      continue;
    }
    const v = server.find((x) => x.name === m.name);
    if (!v) {
      note(ELIGIBILITY_STAGES.length, `model ${m.name} is not installed on the server`, m.name);
      continue;
    }
    if (v.version && v.version !== m.version) {
      note(ELIGIBILITY_STAGES.length, `model ${m.name} ${m.version} is not the server's version ${v.version}`, m.name);
      continue;
    }
    if (!v.eligible) {
      note(ELIGIBILITY_STAGES.length, v.eligibilityReason ?? 'refused by the server', m.name);
      continue;
    }
    if (v.state !== 'shown') {
      note(ELIGIBILITY_STAGES.length + 1, v.reason ?? `model ${m.name}: ${v.state}`, m.name);
      continue;
    }
    return { run: m };
  }
  const b = best as { rank: number; reason: string; model: string } | null;
  return b ? { run: null, reason: b.reason, model: b.model } : { run: null, reason: 'no model in the registry' };
}
