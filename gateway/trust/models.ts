/**
 * The trust controls' indication guard: THE eligibility rule (src/core/ai/eligibility.ts) on the
 * study's facts (gateway/trust/study-facts.ts). Models come from THE registry (ctx.models).
 */
import { studyEligibility, type SeriesChoice } from '../../src/core/ai/eligibility.js';
import type { ModelManifest } from '../../src/core/ai/manifest.js';
import type { StudyFacts } from '../../src/core/policy/study.js';

/**
 * Whether a model may run on (or be shown for) a study: some image series of it is eligible. With
 * `seriesUID`, that series only. Unknown facts (PACS unreachable, no image series) refuse.
 */
export function checkIndication(manifest: ModelManifest, facts: StudyFacts | null, seriesUID?: string | null): SeriesChoice {
  return studyEligibility(manifest, facts, seriesUID);
}

/**
 * The indication guard on the way out, per finding: its model must be eligible on every series the
 * finding marks (a mark on a perfusion map is hidden even when the study's original series is
 * eligible); series the facts do not know fall back to the study-level verdict.
 */
export function findingEligible(manifest: ModelManifest, facts: StudyFacts | null, finding: { regions: readonly { image: { seriesInstanceUID: string } }[] }): boolean {
  const known = [...new Set(finding.regions.map((r) => r.image.seriesInstanceUID))].filter((u) => facts?.series?.some((s) => s.seriesInstanceUID === u));
  return (known.length ? known : [null]).every((uid) => studyEligibility(manifest, facts, uid).ok);
}
