import { describe, expect, it } from 'vitest';
import { evaluateAll, evaluateModel } from './evaluation.js';
import type { GovernanceHistory, ProducedRecord } from './figures.js';

const ICH = '1386000|SCT';
const PTX = '36118008|SCT';
const NOD = '427359005|SCT';
let n = 0;
const out = (study: string, type: string, confidence: number, over: Partial<ProducedRecord> = {}): ProducedRecord => ({
  key: `k${++n}`, findingId: `f${n}`, studyUID: study, model: 'silent-ct', version: '2', modality: 'CT', producedAt: '2026-11-02T10:00:00Z', confidence, severity: 'critical', type, placement: 'live', endedAt: null, hidden: 'rollout', verdict: 'unverified', ...over,
});
const hist = (produced: ProducedRecord[], over: Partial<GovernanceHistory> = {}): GovernanceHistory => ({ produced, shows: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: { 'silent-ct': 'silent' }, defaultMode: 'assistive', alerts: [], now: '2026-11-20T00:00:00Z', ...over });

describe('silent-mode evaluation against the final reads, and the threshold what-if', () => {
  // Final reads: s1 ICH (radiologist, critical) ; s2 PTX (critical, accepted from the assistive model) ; s3 nothing ; s4 not signed.
  const assistive = out('1.2.2', PTX, 0.9, { model: 'assist', version: '1', hidden: null, verdict: 'accepted' });
  const h = hist(
    [
      out('1.2.1', ICH, 0.95), // TP
      out('1.2.1', NOD, 0.4), // FP (not in the read)
      out('1.2.2', PTX, 0.6), // TP (the read confirmed PTX)
      out('1.2.3', ICH, 0.7), // FP (nothing in the read)
      out('1.2.4', ICH, 0.99), // unsigned: not compared
      out('1.2.1', ICH, 0.3, { placement: 'superseded', endedAt: '2026-11-02T11:00:00Z' }), // replaced by a re-read: not counted
      assistive,
    ],
    {
      signoffs: ['1.2.1', '1.2.2', '1.2.3'].map((s) => ({ studyUID: s, at: '2026-11-03T00:00:00Z' })),
      radiologistFindings: [{ studyUID: '1.2.1', at: '2026-11-02T12:00:00Z', severity: 'critical', type: ICH, rejected: false }],
    },
  );

  it('as produced: outputs compared with the final reads by type per study', () => {
    const e = evaluateModel(h, { model: 'silent-ct', version: '2' }, 0);
    expect(e.signedStudies).toBe(3);
    expect(e.asProduced).toMatchObject({ outputs: 4, truePositives: 2, falsePositives: 2, positives: 2, detected: 2, missed: 0, sensitivity: 1, precision: 0.5, criticalPositives: 2, criticalDetected: 2, criticalSensitivity: 1 });
    expect(e.storedFrom).toBe(0.4);
  });

  it('at a higher threshold: fewer false positives, and the sensitivity it costs', () => {
    const e = evaluateModel(h, { model: 'silent-ct', version: '2' }, 0.65);
    expect(e.atThreshold).toMatchObject({ outputs: 2, truePositives: 1, falsePositives: 1, detected: 1, sensitivity: 0.5, criticalSensitivity: 0.5 });
    expect(e.delta).toEqual({ falsePositives: -1, truePositives: -1, sensitivity: -0.5, criticalSensitivity: -0.5 });
    const high = evaluateModel(h, { model: 'silent-ct', version: '2' }, 0.96);
    expect(high.atThreshold).toMatchObject({ outputs: 0, falsePositives: 0, sensitivity: 0, criticalSensitivity: 0 });
  });

  it('a rejected output is a false positive even of a type the read confirmed elsewhere; modes are evaluated apart', () => {
    const rej = hist([out('1.2.9', ICH, 0.9, { model: 'assist', version: '1', hidden: null, verdict: 'rejected', rejectReason: 'false-positive' })], {
      signoffs: [{ studyUID: '1.2.9', at: '2026-11-03T00:00:00Z' }],
      radiologistFindings: [{ studyUID: '1.2.9', at: '2026-11-02T12:00:00Z', severity: 'critical', type: ICH, rejected: false }],
    });
    expect(evaluateModel(rej, { model: 'assist', version: '1' }, 0).asProduced).toMatchObject({ truePositives: 0, falsePositives: 1, positives: 1, detected: 0 });
    const all = evaluateAll(h);
    expect(all.map((e) => `${e.model} ${e.version} ${e.mode}`)).toEqual(['assist 1 assistive', 'silent-ct 2 silent']);
  });

  it('raising the threshold never adds false positives nor sensitivity (random histories, seeded)', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let run = 0; run < 40; run++) {
      const studies = Array.from({ length: 6 }, (_, i) => `1.3.${run}.${i}`);
      const produced = Array.from({ length: 25 }, () => out(studies[Math.floor(rnd() * 6)], [ICH, PTX, NOD][Math.floor(rnd() * 3)], rnd(), { verdict: rnd() < 0.2 ? 'rejected' : 'unverified' }));
      const hh = hist(produced, {
        signoffs: studies.slice(0, 4).map((s) => ({ studyUID: s, at: '2026-11-03T00:00:00Z' })),
        radiologistFindings: studies.map((s) => ({ studyUID: s, at: '2026-11-02T12:00:00Z', severity: 'critical' as const, type: [ICH, PTX, NOD][Math.floor(rnd() * 3)], rejected: false })),
      });
      const curve = evaluateModel(hh, { model: 'silent-ct', version: '2' }, 0).curve;
      for (let i = 1; i < curve.length; i++) {
        expect(curve[i].falsePositives).toBeLessThanOrEqual(curve[i - 1].falsePositives);
        expect(curve[i].detected).toBeLessThanOrEqual(curve[i - 1].detected);
        expect(curve[i].truePositives + curve[i].falsePositives).toBe(curve[i].outputs);
        expect(curve[i].positives).toBe(curve[0].positives);
      }
    }
  });
});
