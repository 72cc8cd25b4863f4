/**
 * Silent-mode evaluation (every model version and mode against the final reads of signed studies) and
 * the threshold what-if: the stored outputs replayed at another confidence threshold, with the change
 * in false positives and sensitivity (GET /api/governance/evaluation, /api/governance/what-if).
 */
import { useEffect, useMemo, useState } from 'react';
import { apiJson } from '../auth/api';
import type { Evaluation, EvaluationPoint } from '../core/governance/evaluation';
import { GovernanceChart } from './Chart';
import { PALETTE } from './chartData';

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const pts = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} pts`);
const signed = (x: number) => `${x > 0 ? '+' : ''}${x}`;
const selKey = (e: Pick<Evaluation, 'model' | 'version' | 'mode'>) => `${e.model}|${e.version}|${e.mode}`;

export function EvaluationSection() {
  const [evals, setEvals] = useState<Evaluation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sel, setSel] = useState('');
  const [threshold, setThreshold] = useState('0.5');
  const [whatIf, setWhatIf] = useState<Evaluation | null>(null);
  useEffect(() => {
    apiJson<{ evaluations: Evaluation[] }>('/api/governance/evaluation').then(
      (r) => {
        setEvals(r.evaluations);
        if (r.evaluations[0]) setSel(selKey(r.evaluations[0]));
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  const replay = async () => {
    const [model, version, mode] = sel.split('|');
    const q = new URLSearchParams({ model, version, threshold, ...(mode && mode !== 'any' ? { mode } : {}) });
    try {
      setWhatIf(await apiJson<Evaluation>(`/api/governance/what-if?${q}`));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const curve = useMemo(() => {
    if (!whatIf) return null;
    const c = whatIf.curve;
    const v = (f: (p: EvaluationPoint) => number | null) => c.map((p) => { const x = f(p); return x === null ? null : Math.round(x * 1000) / 10; });
    return {
      labels: c.map((p) => p.threshold.toFixed(2)),
      series: [
        { label: 'Sensitivity (%)', color: PALETTE[1], data: v((p) => p.sensitivity) },
        { label: 'Precision (%)', color: PALETTE[2], data: v((p) => p.precision) },
      ],
    };
  }, [whatIf]);
  const rows: [string, (p: EvaluationPoint) => string, (e: Evaluation) => string][] = [
    ['Outputs', (p) => String(p.outputs), (e) => signed(e.atThreshold.outputs - e.asProduced.outputs)],
    ['True positives', (p) => String(p.truePositives), (e) => signed(e.delta.truePositives)],
    ['False positives', (p) => String(p.falsePositives), (e) => signed(e.delta.falsePositives)],
    ['Sensitivity', (p) => `${pct(p.sensitivity)} (${p.detected}/${p.positives})`, (e) => pts(e.delta.sensitivity)],
    ['Critical sensitivity', (p) => `${pct(p.criticalSensitivity)} (${p.criticalDetected}/${p.criticalPositives})`, (e) => pts(e.delta.criticalSensitivity)],
  ];
  return (
    <div>
      {error && <pre className="error-banner">{error}</pre>}
      {evals && !evals.length && <p className="muted">No model has output on a signed study yet.</p>}
      {evals && evals.length > 0 && (
        <>
          <table className="worklist-table gov-table" data-testid="governance-evaluation">
            <thead><tr><th>Model</th><th>Version</th><th>Mode</th><th>Signed studies</th><th>Outputs</th><th>True positives</th><th>False positives</th><th>Sensitivity</th><th>Precision</th><th>Critical sensitivity</th></tr></thead>
            <tbody>
              {evals.map((e) => (
                <tr key={selKey(e)} data-group={selKey(e)}>
                  <td>{e.model}</td><td>{e.version}</td><td>{e.mode}</td><td>{e.signedStudies}</td><td>{e.asProduced.outputs}</td><td>{e.asProduced.truePositives}</td><td>{e.asProduced.falsePositives}</td>
                  <td>{pct(e.asProduced.sensitivity)}</td><td>{pct(e.asProduced.precision)}</td><td>{pct(e.asProduced.criticalSensitivity)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="gov-toolbar" style={{ marginTop: '0.8rem' }}>
            <label>
              Model{' '}
              <select aria-label="What-if model" value={sel} onChange={(e) => setSel(e.target.value)}>
                {evals.map((e) => <option key={selKey(e)} value={selKey(e)}>{`${e.model} ${e.version} (${e.mode})`}</option>)}
              </select>
            </label>
            <label>
              Threshold{' '}
              <input aria-label="What-if threshold" type="number" min="0" max="1" step="0.05" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
            </label>
            <button type="button" data-testid="what-if-run" onClick={() => void replay()}>Replay stored outputs</button>
          </div>
          {whatIf && (
            <>
              <table className="worklist-table gov-table" data-testid="governance-what-if">
                <thead><tr><th></th><th>As produced</th><th>At {whatIf.atThreshold.threshold}</th><th>Change</th></tr></thead>
                <tbody>
                  {rows.map(([label, f, d]) => (
                    <tr key={label} data-row={label}>
                      <td>{label}</td><td data-field="asProduced">{f(whatIf.asProduced)}</td><td data-field="atThreshold">{f(whatIf.atThreshold)}</td><td data-field="change">{d(whatIf)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="muted">
                Outputs are stored from confidence {whatIf.storedFrom ?? '–'}: below the threshold the model ran with nothing was kept, so a lower threshold cannot add outputs.
              </p>
              {curve && <GovernanceChart kind="line" labels={curve.labels} series={curve.series} yTitle="%" max={100} testId="governance-chart-what-if" />}
            </>
          )}
        </>
      )}
    </div>
  );
}
