/** A study's modality, body part and patient age, looked up in Orthanc (REST) and cached briefly. */
import type { GatewayConfig } from '../config.js';
import { orthancAuthHeader } from '../dicomweb/proxy.js';
import { patientAgeYears, primaryModality, type StudyFacts } from '../../src/core/policy/study.js';

const TTL_MS = 30_000;

export function orthancStudyFactsResolver(config: GatewayConfig): (studyUID: string) => Promise<StudyFacts | null> {
  const cache = new Map<string, { at: number; facts: StudyFacts | null }>();
  const auth = orthancAuthHeader(config);
  return async (studyUID) => {
    const hit = cache.get(studyUID);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.facts;
    let facts: StudyFacts | null = null;
    try {
      const r = await fetch(config.orthancUrl + '/tools/find', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: studyUID }, Expand: true }),
      });
      if (r.ok) {
        const series = (await r.json()) as { MainDicomTags?: { Modality?: string; BodyPartExamined?: string }; Instances?: string[] }[];
        if (series.length) {
          const modalities = [...new Set(series.map((s) => s.MainDicomTags?.Modality).filter((m): m is string => !!m))];
          const modality = primaryModality(modalities);
          const main = series.find((s) => s.MainDicomTags?.Modality === modality) ?? series[0];
          let age: number | undefined;
          const inst = main.Instances?.[0];
          if (inst) {
            const t = await fetch(`${config.orthancUrl}/instances/${inst}/simplified-tags`, { headers: auth });
            if (t.ok) age = patientAgeYears((await t.json()) as Record<string, string>);
          }
          facts = { modality, modalities, bodyPart: main.MainDicomTags?.BodyPartExamined || undefined, patientAgeYears: age };
        }
      }
    } catch {
      // PACS unreachable: unknown facts (the callers fail closed where it matters).
      return null;
    }
    cache.set(studyUID, { at: Date.now(), facts });
    return facts;
  };
}
