/**
 * Pre-read routing: which installed model runs on which series of an arrived study. The models come
 * from THE registry (gateway/ai/registry.ts, ctx.models); the decision is the one eligibility rule
 * (src/core/ai/eligibility.ts) on the study's facts (src/core/study/facts.ts), the same the browser
 * and /api/studies/:s/ai-status apply, so all three give the same reason for the same study.
 */
import { studyEligibility } from '../../src/core/ai/eligibility.js';
import type { SeriesFacts } from '../../src/core/study/facts.js';
import type { RegisteredModel } from '../ai/registry.js';

export type InstalledModel = Pick<RegisteredModel, 'manifest' | 'dir'>;

export interface ModelCatalog {
  /** Models the pre-read may run (valid manifest, model file present). */
  list(): InstalledModel[];
  /** Per-model and per-class thresholds for prioritise(). */
  thresholds(): Record<string, number>;
}

export interface RoutingDecision {
  model: string;
  version: string;
  decision: 'run' | 'skip';
  reason: string;
  /** The Orthanc series the model runs on (run only). */
  seriesId?: string;
  seriesInstanceUID?: string;
}

/** A series as routing sees it: its facts, and its Orthanc id (what the worker fetches). */
export type RoutableSeries = SeriesFacts & { orthancId: string };

/**
 * For each model, the largest image series the core eligibility accepts; when none does, the most
 * telling refusal (src/core/ai/eligibility.ts studyEligibility). The order's clinical indication is
 * part of each series' facts (a contraindication named there refuses the model).
 */
export function route(models: InstalledModel[], series: RoutableSeries[]): RoutingDecision[] {
  return models.map(({ manifest }) => {
    const base = { model: manifest.name, version: manifest.version };
    if (!series.length) return { ...base, decision: 'skip', reason: 'no image series in study' };
    const r = studyEligibility(manifest, { series });
    if (!r.ok) return { ...base, decision: 'skip', reason: r.reason };
    const s = r.series as RoutableSeries;
    return { ...base, decision: 'run', reason: r.reason, seriesId: s.orthancId, seriesInstanceUID: s.seriesInstanceUID ?? undefined };
  });
}
