/**
 * Pure rules for pre-read on arrival: which series are ours (so our own SR never triggers another
 * read), what identifies "the images we read" (fingerprint), patient age for routing, back-off,
 * and the AI state a worklist shows. Isomorphic: no Node or DOM imports.
 */

/** Manufacturer written into everything we store (SR, SEG...); ModelRef's default manufacturer. */
export const OUR_MANUFACTURER = 'Reading Station Demo';
/** Series description prefix we write; anything starting with it is our own output. */
export const OUR_SERIES_PREFIX = 'Reading Station';

/** Non-image modalities: objects about images, never something to read. */
const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'SEG', 'REG', 'RWV', 'DOC', 'AU', 'ECG', 'PLAN', 'RTSTRUCT', 'RTPLAN', 'RTDOSE']);

export interface SeriesTags {
  Modality?: string;
  SeriesDescription?: string;
  Manufacturer?: string;
}

/** True for series that must not start a pre-read: our own output, or objects that hold no images. */
export function isIgnoredSeries(s: SeriesTags): boolean {
  const modality = (s.Modality ?? '').trim().toUpperCase();
  if (NON_IMAGE_MODALITIES.has(modality)) return true;
  if ((s.Manufacturer ?? '').trim() === OUR_MANUFACTURER) return true;
  if ((s.SeriesDescription ?? '').trim().startsWith(OUR_SERIES_PREFIX)) return true;
  return false;
}

/** FNV-1a, two 32-bit lanes: enough to tell sets of instance UIDs apart, and isomorphic. */
function fnv64(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** Identifies the set of images read: order-independent, count first so it is readable in the table. */
export function imageFingerprint(sopInstanceUIDs: readonly string[]): string {
  const sorted = [...new Set(sopInstanceUIDs)].sort();
  return `${sorted.length}:${fnv64(sorted.join('\\'))}`;
}

/** Retry delay after the n-th failed attempt (1-based): base·2^(n-1), capped. */
export function backoffMs(attempt: number, baseMs = 2_000, capMs = 5 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export const AI_STATES = ['pending', 'running', 'done', 'failed', 'unavailable', 'disabled', 'skipped'] as const;
export type AiState = (typeof AI_STATES)[number];

export interface JobSummary {
  state: 'pending' | 'running' | 'done' | 'failed';
}

/**
 * What the worklist shows about AI for a study. "unavailable" means: not read yet and either no
 * inference worker is up, or the study has waited longer than the limit; the study stays readable.
 * A study with some models done and some failed is "done" (its flags are real); all failed is "failed".
 */
export function deriveAiState(input: { jobs: readonly JobSummary[]; override: 'disabled' | null; workersUp: boolean; waitedMs: number; timeoutMs: number }): AiState {
  if (input.override === 'disabled') return 'disabled';
  const { jobs } = input;
  if (jobs.length === 0) return 'skipped';
  const open = jobs.filter((j) => j.state === 'pending' || j.state === 'running');
  if (open.length) {
    if (!input.workersUp || input.waitedMs > input.timeoutMs) return 'unavailable';
    return open.some((j) => j.state === 'running') ? 'running' : 'pending';
  }
  return jobs.some((j) => j.state === 'done') ? 'done' : 'failed';
}
