/**
 * Silent-mode evaluation and the threshold what-if, pure. A model's outputs on signed studies are
 * compared with the final reads: what the signing radiologist confirmed (AI output of any model that
 * was accepted or modified, and radiologists' own findings not rejected), by finding type per study.
 *
 *  - An output is a true positive when its type is in its study's final read and it was not itself
 *    rejected; otherwise a false positive.
 *  - Each (study, type) of a final read is a positive; the model detected it when it had an output of
 *    that type there. Sensitivity = detected / positives (critical: positives whose confirmed finding is critical).
 *
 * Silent outputs (never shown, never judged) are compared the same way, so silent and assistive give
 * comparable figures. The what-if replays the stored outputs at another confidence threshold: only
 * outputs at or above it count. Outputs below the threshold the model ran with were never stored, so a
 * lower threshold cannot add any (`storedFrom` says from which confidence the replay is complete).
 * Only outputs live at sign-off count (a superseded output was replaced by its re-read; output after
 * sign-off had no part in the read).
 */
import type { GovernanceHistory, Mode, ProducedRecord } from './figures.js';
import { modeAt } from './figures.js';

export interface EvaluationPoint {
  threshold: number;
  outputs: number;
  truePositives: number;
  falsePositives: number;
  positives: number;
  detected: number;
  missed: number;
  sensitivity: number | null;
  /** true positives / outputs */
  precision: number | null;
  criticalPositives: number;
  criticalDetected: number;
  criticalSensitivity: number | null;
}

export interface Evaluation {
  model: string;
  version: string;
  mode: Mode | 'any';
  signedStudies: number;
  /** The lowest stored confidence: below it the replay cannot know what the model would have said. */
  storedFrom: number | null;
  asProduced: EvaluationPoint;
  atThreshold: EvaluationPoint;
  delta: { falsePositives: number; truePositives: number; sensitivity: number | null; criticalSensitivity: number | null };
  curve: EvaluationPoint[];
}

const ratio = (n: number, d: number) => (d > 0 ? n / d : null);

interface FinalRead {
  types: Set<string>;
  critical: Set<string>;
}

/** The final read of each signed study: confirmed finding types (and which of them are critical). */
export function finalReads(h: Pick<GovernanceHistory, 'produced' | 'radiologistFindings' | 'signoffs'>): Map<string, FinalRead> {
  const reads = new Map<string, FinalRead>(h.signoffs.map((s) => [s.studyUID, { types: new Set(), critical: new Set() }]));
  for (const r of h.produced) {
    const fr = reads.get(r.studyUID);
    if (!fr || r.placement !== 'live' || (r.verdict !== 'accepted' && r.verdict !== 'modified')) continue;
    fr.types.add(r.type);
    if (r.severity === 'critical') fr.critical.add(r.type);
  }
  for (const f of h.radiologistFindings) {
    const fr = reads.get(f.studyUID);
    if (!fr || f.rejected) continue;
    fr.types.add(f.type);
    if (f.severity === 'critical') fr.critical.add(f.type);
  }
  return reads;
}

function point(outputs: readonly ProducedRecord[], studies: readonly string[], reads: Map<string, FinalRead>, threshold: number): EvaluationPoint {
  const kept = outputs.filter((r) => r.confidence >= threshold);
  let tp = 0;
  for (const r of kept) if (reads.get(r.studyUID)!.types.has(r.type) && r.verdict !== 'rejected') tp++;
  let positives = 0;
  let detected = 0;
  let criticalPositives = 0;
  let criticalDetected = 0;
  for (const s of studies) {
    const fr = reads.get(s)!;
    const found = new Set(kept.filter((r) => r.studyUID === s && r.verdict !== 'rejected').map((r) => r.type));
    for (const t of fr.types) {
      positives++;
      if (found.has(t)) detected++;
    }
    for (const t of fr.critical) {
      criticalPositives++;
      if (found.has(t)) criticalDetected++;
    }
  }
  return {
    threshold,
    outputs: kept.length,
    truePositives: tp,
    falsePositives: kept.length - tp,
    positives,
    detected,
    missed: positives - detected,
    sensitivity: ratio(detected, positives),
    precision: ratio(tp, kept.length),
    criticalPositives,
    criticalDetected,
    criticalSensitivity: ratio(criticalDetected, criticalPositives),
  };
}

/** Evaluates one model version (optionally only its outputs produced in one mode) against the final reads, as produced and at `threshold`. */
export function evaluateModel(h: GovernanceHistory, sel: { model: string; version: string; mode?: Mode }, threshold: number): Evaluation {
  const reads = finalReads(h);
  const outputs = h.produced.filter(
    (r) => r.model === sel.model && r.version === sel.version && r.placement === 'live' && reads.has(r.studyUID) && (!sel.mode || modeAt(h, r.model, r.producedAt) === sel.mode),
  );
  // The studies the model read: every signed study it produced anything on (at any threshold), or ran a job on.
  const studies = [
    ...new Set([
      ...outputs.map((r) => r.studyUID),
      ...h.jobs.filter((j) => j.model === sel.model && j.version === sel.version && j.state === 'done' && reads.has(j.studyUID) && (!sel.mode || (j.finishedAt && modeAt(h, j.model, j.finishedAt) === sel.mode))).map((j) => j.studyUID),
    ]),
  ].sort();
  const asProduced = point(outputs, studies, reads, 0);
  const atThreshold = point(outputs, studies, reads, threshold);
  const d = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  return {
    model: sel.model,
    version: sel.version,
    mode: sel.mode ?? 'any',
    signedStudies: studies.length,
    storedFrom: outputs.length ? Math.min(...outputs.map((r) => r.confidence)) : null,
    asProduced,
    atThreshold,
    delta: {
      falsePositives: atThreshold.falsePositives - asProduced.falsePositives,
      truePositives: atThreshold.truePositives - asProduced.truePositives,
      sensitivity: d(asProduced.sensitivity, atThreshold.sensitivity),
      criticalSensitivity: d(asProduced.criticalSensitivity, atThreshold.criticalSensitivity),
    },
    curve: Array.from({ length: 20 }, (_, i) => point(outputs, studies, reads, i / 20)),
  };
}

/** Every model version and mode with output on signed studies, as produced: the silent-mode evaluation table. */
export function evaluateAll(h: GovernanceHistory): Evaluation[] {
  const reads = finalReads(h);
  const keys = new Set<string>();
  for (const r of h.produced) if (r.placement === 'live' && reads.has(r.studyUID)) keys.add([r.model, r.version, modeAt(h, r.model, r.producedAt)].join('\u0000'));
  return [...keys].sort().map((k) => {
    const [model, version, mode] = k.split('\u0000');
    return evaluateModel(h, { model, version, mode: mode as Mode }, 0);
  });
}
