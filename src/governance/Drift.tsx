/** Drift per model version and week: output scores, scanners, slice thicknesses against the earlier weeks (GET /api/governance/drift). */
import { useEffect, useState } from 'react';
import { apiJson } from '../auth/api';
import type { DriftFeature, DriftRow } from '../core/governance/drift';

const top = (f: DriftFeature) =>
  Object.entries(f.histogram)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || '–';

export function DriftSection() {
  const [data, setData] = useState<{ maxDistance: number | null; rows: DriftRow[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    apiJson<{ maxDistance: number | null; rows: DriftRow[] }>('/api/governance/drift').then(setData, (e: Error) => setError(e.message));
  }, []);
  if (error) return <pre className="error-banner">{error}</pre>;
  if (!data) return <p className="muted">Loading…</p>;
  const max = data.maxDistance ?? 1;
  const cell = (f: DriftFeature) => (
    <td data-far={f.distance !== null && f.distance > max ? 'yes' : 'no'} className={f.distance !== null && f.distance > max ? 'gov-far' : undefined}>
      {f.distance === null ? '–' : f.distance.toFixed(2)} <span className="muted">({f.n} vs {f.referenceN})</span>
    </td>
  );
  return (
    <>
      <p className="muted">
        Jensen–Shannon distance of each week from the model's earlier weeks (0 = the same distribution, 1 = nothing in common); noticed above {data.maxDistance ?? '–'}. Intensity histograms are not collected yet.
      </p>
      <div className="gov-scroll">
        <table className="worklist-table gov-table" data-testid="governance-drift">
          <thead><tr><th>Model</th><th>Version</th><th>Week</th><th>Output scores</th><th>Scores (most frequent)</th><th>Scanners</th><th>Scanners (most frequent)</th><th>Slice thickness</th><th>Thickness (most frequent)</th></tr></thead>
          <tbody>
            {data.rows.map((r) => (
              <tr key={`${r.model} ${r.version} ${r.week}`} data-group={`${r.model} ${r.version}`} data-week={r.week}>
                <td>{r.model}</td><td>{r.version}</td><td>{r.week}</td>
                {cell(r.outputs)}<td>{top(r.outputs)}</td>{cell(r.scanner)}<td>{top(r.scanner)}</td>{cell(r.sliceThickness)}<td>{top(r.sliceThickness)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
