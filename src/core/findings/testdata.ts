/** A valid AI finding for unit tests (UIDs from the shared head CT study). */
import type { FindingInput } from './finding.js';

export const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';

export function aiFinding(over: Partial<FindingInput> = {}): FindingInput {
  return {
    id: 'f-1',
    studyInstanceUID: STUDY,
    type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
    label: 'Intracranial hemorrhage',
    confidence: 0.9,
    severity: 'critical',
    regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, box: { x: 10, y: 20, width: 30, height: 40 } }],
    model: { name: 'ich-demo', version: '1' },
    source: 'fixture',
    ...over,
  };
}
