/**
 * Drift per model version and week: output scores, scanners, slice thicknesses and the input intensity
 * histogram against the earlier weeks (GET /api/governance/drift, CSV from /api/governance/drift.csv).
 * The charts paint what chartData.ts computes: the distances per week, and one week's distribution of
 * scores and intensities beside the earlier weeks'.
 */
import { useEffect, useMemo, useState } from 'react';
import { apiJson } from '../auth/api';
import { CONFIDENCE_BINS, HU_BINS, type DriftFeature, type DriftRow } from '../core/governance/drift';
import { GovernanceChart } from './Chart';
import { driftBars, driftGroup, driftTrend } from './chartData';

const top = (f: DriftFeature | undefined, asShare = false) => {
  if (!f) return '–';
  const total = Object.values(f.histogram).reduce((a, b) => a + b, 0);
  return (
    Object.entries(f.histogram)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => (asShare ? `${k} HU ${Math.round((v / total) * 100)}%` : `${k} ×${v}`))
      .join(', ') || '–'
  );
};

interface DriftResp {
  maxDistance: number | null;
  rows: DriftRow[];
}

export function DriftSection() {
  const [data, setData] = useState<DriftResp | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [group, setGroup] = useState('');
  useEffect(() => {
    apiJson<DriftResp>('/api/governance/drift').then(
      (d) => {
        setData(d);
        // Start on a model version with intensities if there is one (what this section adds to the figures), else the first.
        const first = d.rows.find((r) => (r.intensity?.n ?? 0) > 0) ?? d.rows[0];
        if (first) setGroup(driftGroup(first));
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  const groups = useMemo(() => [...new Set(data?.rows.map(driftGroup) ?? [])], [data]);
  const charts = useMemo(() => {
    if (!data || !group) return null;
    return { trend: driftTrend(data.rows, group), scores: driftBars(data.rows, group, 'outputs', CONFIDENCE_BINS), intensity: driftBars(data.rows, group, 'intensity', HU_BINS) };
  }, [data, group]);
  if (error) return <pre className="error-banner">{error}</pre>;
  if (!data) return <p className="muted">Loading…</p>;
  const max = data.maxDistance ?? 1;
  const cell = (f: DriftFeature | undefined) =>
    f ? (
      <td data-far={f.distance !== null && f.distance > max ? 'yes' : 'no'} className={f.distance !== null && f.distance > max ? 'gov-far' : undefined}>
        {f.distance === null ? '–' : f.distance.toFixed(2)} <span className="muted">({f.n} vs {f.referenceN})</span>
      </td>
    ) : (
      <td>–</td>
    );
  return (
    <>
      <p className="muted">
        Jensen–Shannon distance of each week from the model's earlier weeks (0 = the same distribution, 1 = nothing in common); noticed above {data.maxDistance ?? '–'} with enough values.
        Intensity: the HU histogram of the slices the pre-read gave the model (CT models), one distribution per study, studies weighted alike.{' '}
        <a href="/api/governance/drift.csv" download data-testid="governance-drift-csv">
          Export drift CSV
        </a>
      </p>
      <div className="gov-scroll">
        <table className="worklist-table gov-table" data-testid="governance-drift">
          <thead>
            <tr>
              <th>Model</th><th>Version</th><th>Week</th><th>Output scores</th><th>Scores (most frequent)</th><th>Scanners</th><th>Scanners (most frequent)</th><th>Slice thickness</th><th>Thickness (most frequent)</th>
              <th>Intensity (studies)</th><th>Intensity (largest bins)</th>
            </tr>
          </thead>
          <tbody>
            {data.rows.map((r) => (
              <tr key={`${r.model} ${r.version} ${r.week}`} data-group={driftGroup(r)} data-week={r.week}>
                <td>{r.model}</td><td>{r.version}</td><td>{r.week}</td>
                {cell(r.outputs)}<td>{top(r.outputs)}</td>{cell(r.scanner)}<td>{top(r.scanner)}</td>{cell(r.sliceThickness)}<td>{top(r.sliceThickness)}</td>
                {cell(r.intensity)}<td data-field="intensity-top">{top(r.intensity, true)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {groups.length > 0 && (
        <div className="gov-toolbar" style={{ marginTop: '0.8rem' }}>
          <label>
            Drift of{' '}
            <select aria-label="Drift model" value={group} onChange={(e) => setGroup(e.target.value)}>
              {groups.map((g) => <option key={g} value={g}>{g}</option>)}
            </select>
          </label>
        </div>
      )}
      {charts && (
        <div className="gov-charts">
          <figure>
            <figcaption>Distance from the earlier weeks, per week</figcaption>
            <GovernanceChart kind="line" labels={charts.trend.labels} series={charts.trend.series} yTitle="Jensen–Shannon distance" max={1} testId="governance-chart-drift" />
          </figure>
          {charts.scores && (
            <figure>
              <figcaption>Output scores: {charts.scores.week} and the earlier weeks (%)</figcaption>
              <GovernanceChart kind="bar" labels={charts.scores.labels} series={charts.scores.series} yTitle="% of outputs" max={100} testId="governance-chart-drift-scores" />
            </figure>
          )}
          {charts.intensity ? (
            <figure>
              <figcaption>Input intensity (HU): {charts.intensity.week} and the earlier weeks (%)</figcaption>
              <GovernanceChart kind="bar" labels={charts.intensity.labels} series={charts.intensity.series} yTitle="% of pixels (mean over studies)" max={100} testId="governance-chart-drift-intensity" />
            </figure>
          ) : (
            <p className="muted">No intensity histogram for {group}: not a CT model, or no study of it was read by the pre-read.</p>
          )}
        </div>
      )}
    </>
  );
}
