/**
 * The AI governance role's own page (its landing page): per model, version, rollout mode, modality and
 * ISO week, the figures of src/core/governance/figures.ts as the gateway computes them
 * (GET /api/governance/figures), silent and assistive side by side, trend and distribution charts
 * (Chart.js), and the CSV export. Every produced finding is counted in exactly one state; the page shows
 * that matrix, it does not recompute anything.
 */
import { useEffect, useMemo, useState } from 'react';
import { apiJson, useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { formatDateTime } from '../core/format/dates';
import { VISIBILITIES, type FigureRow, type Figures } from '../core/governance/figures';
import { GovernanceChart } from './Chart';
import { VISIBILITY_LABELS, distribution, groupKey, sideBySide, trend, type TrendMetric } from './chartData';
import { Notices, RulesEditor } from './Alerts';
import { EvaluationSection } from './Evaluation';
import { DriftSection } from './Drift';
import { DeidAssessments, FeedbackExport } from './Exports';
import './governance.css';

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | null) => (x === null ? '–' : x < 10_000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(1)} s`);
const perDay = (r: FigureRow) =>
  Object.keys(r.alertsPerRolePerDay).length ? Object.entries(r.alertsPerRolePerDay).map(([role, n]) => `${role} ${n.toFixed(2)}`).join(', ') : '–';

function FigureTable({ rows, testId, showWeek }: { rows: FigureRow[]; testId: string; showWeek: boolean }) {
  return (
    <div className="gov-scroll">
      <table className="worklist-table gov-table" data-testid={testId}>
        <thead>
          <tr>
            <th>Model</th><th>Version</th><th>Mode</th><th>Modality</th>{showWeek && <th>Week</th>}
            <th title="Studies the model processed">Studies</th><th title="Studies where a radiologist or resident was given the AI findings / studies with AI results">Utilisation</th>
            <th>Produced</th>
            {VISIBILITIES.map((v) => <th key={v}>{VISIBILITY_LABELS[v]}</th>)}
            <th>Accepted</th><th>Modified</th><th>Rejected</th><th>Unverified</th>
            <th title="accepted / verdicts">Agreement</th><th title="modified / verdicts">Modify rate</th>
            <th title="rejected as false positive / findings shown">False-positive rate</th><th title="other rejection reasons / findings shown">Other rejections</th>
            <th title="radiologists' own findings on these studies">Misses added</th><th title="critical findings of the signed reads the model found">Critical sensitivity</th>
            <th>Latency p50</th><th>Latency p95</th><th>Uptime</th><th>Alerts / role / day</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${groupKey(r)} ${r.week}`} data-group={groupKey(r)} data-week={r.week}>
              <td>{r.model}</td><td>{r.version}</td><td data-field="mode">{r.mode}</td><td>{r.modality}</td>{showWeek && <td>{r.week}</td>}
              <td data-field="studiesProcessed">{r.studiesProcessed}</td>
              <td data-field="utilisation">{r.utilisation === null ? '–' : `${pct(r.utilisation)} (${r.studiesOpened}/${r.studiesWithResults})`}</td>
              <td data-field="produced">{r.produced}</td>
              {VISIBILITIES.map((v) => <td key={v} data-field={v}>{r.byVisibility[v]}</td>)}
              <td data-field="accepted">{r.byVerdict.accepted}</td><td data-field="modified">{r.byVerdict.modified}</td><td data-field="rejected">{r.byVerdict.rejected}</td><td data-field="unverified">{r.byVerdict.unverified}</td>
              <td data-field="agreementRate">{pct(r.agreementRate)}</td><td data-field="modifyRate">{pct(r.modifyRate)}</td>
              <td data-field="falsePositiveRate">{pct(r.falsePositiveRate)} ({r.rejectedBy['false-positive']}/{r.shown})</td>
              <td data-field="otherRejections">
                {(['artefact', 'clinically-insignificant', 'other', 'unspecified'] as const).filter((k) => r.rejectedBy[k]).map((k) => `${k} ${r.rejectedBy[k]}`).join(', ') || '–'}
              </td>
              <td data-field="missesAdded">{r.missesAdded}</td>
              <td data-field="criticalSensitivity">{r.criticalSensitivity === null ? '–' : `${pct(r.criticalSensitivity)} (${r.criticalDetected}/${r.criticalPositives})`}</td>
              <td data-field="latencyP50">{ms(r.latencyMs.p50)}</td><td data-field="latencyP95">{ms(r.latencyMs.p95)}</td>
              <td data-field="uptime">{pct(r.uptime)}</td><td data-field="alerts">{perDay(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SideBySide({ summary }: { summary: FigureRow[] }) {
  const pairs = sideBySide(summary).filter((p) => p.silent.length > 0);
  if (!pairs.length) return <p className="muted">No model has run in silent mode.</p>;
  const cell = (rows: FigureRow[], f: (r: FigureRow) => string) => (rows.length ? rows.map(f).join(' · ') : '–');
  return (
    <table className="worklist-table gov-table" data-testid="governance-side-by-side">
      <thead><tr><th>Model</th><th>Version</th><th>Mode</th><th>Produced</th><th>Studies</th><th>False-positive rate</th><th>Critical sensitivity</th><th>Latency p95</th></tr></thead>
      <tbody>
        {pairs.flatMap((p) =>
          (['assistive', 'silent'] as const).map((mode) => {
            const rows = p[mode];
            return (
              <tr key={`${p.model} ${p.version} ${mode}`} data-group={`${p.model} ${p.version} ${mode}`}>
                <td>{p.model}</td><td>{p.version}</td><td>{mode}</td>
                <td>{cell(rows, (r) => String(r.produced))}</td><td>{cell(rows, (r) => String(r.studiesProcessed))}</td>
                <td>{cell(rows, (r) => pct(r.falsePositiveRate))}</td><td>{cell(rows, (r) => pct(r.criticalSensitivity))}</td><td>{cell(rows, (r) => ms(r.latencyMs.p95))}</td>
              </tr>
            );
          }),
        )}
      </tbody>
    </table>
  );
}

const TRENDS: { metric: TrendMetric; title: string }[] = [
  { metric: 'falsePositiveRate', title: 'False-positive rate per week (%)' },
  { metric: 'agreementRate', title: 'Agreement per week (%)' },
  { metric: 'utilisation', title: 'Utilisation per week (%)' },
  { metric: 'criticalSensitivity', title: 'Critical-finding sensitivity per week (%)' },
];

export default function GovernancePage() {
  const [figs, setFigs] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [model, setModel] = useState<string>('');
  const [rulesSaved, setRulesSaved] = useState(0);
  const { user } = useSession();
  useEffect(() => {
    apiJson<Figures>('/api/governance/figures').then(setFigs, (e: Error) => setError(e.message));
  }, []);
  const view = useMemo(() => {
    if (!figs) return null;
    const keep = (r: FigureRow) => !model || r.model === model;
    return { ...figs, rows: figs.rows.filter(keep), summary: figs.summary.filter(keep) };
  }, [figs, model]);
  const models = useMemo(() => [...new Set(figs?.summary.map((r) => r.model) ?? [])].sort(), [figs]);
  const trends = useMemo(() => (view ? TRENDS.map((t) => ({ ...t, ...trend(view, t.metric) })) : []), [view]);
  const dist = useMemo(() => (view ? distribution(view.summary) : null), [view]);

  return (
    <main className="page governance-page" data-testid="governance-page">
      <h1>AI governance</h1>
      {error && <pre className="error-banner">{error}</pre>}
      {!figs && !error && <p className="muted">Loading the figures…</p>}
      {figs && view && (
        <>
          <div className="gov-toolbar">
            <label>
              Model{' '}
              <select aria-label="Model" value={model} onChange={(e) => setModel(e.target.value)}>
                <option value="">All models</option>
                {models.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
            </label>
            <a href="/api/governance/figures.csv" download data-testid="governance-csv">Export CSV (per week)</a>
            <span className="muted">
              Generated {formatDateTime(figs.generatedAt)} · {figs.totals.produced} AI findings produced in all ·
              gateway uptime this week {pct(figs.gatewayUptime.at(-1)?.uptime ?? null)}
            </span>
          </div>
          <section className="gov-section">
            <h2>Notices: models outside their ranges</h2>
            <Notices key={rulesSaved} />
          </section>
          <section className="gov-section">
            <h2>Per model, version, mode and modality (all weeks)</h2>
            <p className="muted">Each produced finding is in exactly one column of “Shown … After sign-off” and one of “Accepted … Unverified”; both add up to “Produced”.</p>
            <FigureTable rows={view.summary} testId="governance-summary" showWeek={false} />
          </section>
          <section className="gov-section">
            <h2>Silent and assistive side by side</h2>
            <SideBySide summary={view.summary} />
          </section>
          <section className="gov-section">
            <h2>Silent-mode evaluation and threshold what-if (against the final reads)</h2>
            <EvaluationSection />
          </section>
          <section className="gov-section gov-charts">
            {trends.map((t) => (
              <figure key={t.metric}>
                <figcaption>{t.title}</figcaption>
                <GovernanceChart kind="line" labels={t.labels} series={t.series} yTitle="%" max={100} testId={`governance-chart-${t.metric}`} />
              </figure>
            ))}
            {dist && (
              <figure>
                <figcaption>Where each produced finding is now</figcaption>
                <GovernanceChart kind="bar" stacked labels={dist.labels} series={dist.series} yTitle="findings" testId="governance-chart-distribution" />
              </figure>
            )}
          </section>
          <section className="gov-section">
            <h2>Per week</h2>
            <FigureTable rows={view.rows} testId="governance-weekly" showWeek />
          </section>
          <section className="gov-section">
            <h2>Drift (output scores and inputs, intensity included, per week)</h2>
            <DriftSection />
          </section>
          {can(user?.role, 'governance.deid-export') && (
            <>
              <section className="gov-section">
                <h2>Feedback export for retraining (de-identified)</h2>
                <FeedbackExport models={models} />
              </section>
              <section className="gov-section">
                <h2>Assessment records (DICOM SR, de-identified)</h2>
                <DeidAssessments />
              </section>
            </>
          )}
          <section className="gov-section">
            <h2>Alert rules</h2>
            <p className="muted">Each week of each model is held to these ranges; a model leaving one notifies admin and governance (a notice here and an audit record).</p>
            <RulesEditor onSaved={() => setRulesSaved((n) => n + 1)} />
          </section>
        </>
      )}
    </main>
  );
}
