/**
 * A Chart.js chart on a canvas (tree-shaken registration, no animation so it is drawn at once).
 * Chart.js needs no eval and no inline script, so it runs under the gateway's CSP.
 */
import { useEffect, useRef } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import type { Series } from './chartData';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export function GovernanceChart({ kind, labels, series, yTitle, stacked, testId, max }: { kind: 'line' | 'bar'; labels: string[]; series: Series[]; yTitle: string; stacked?: boolean; testId: string; max?: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = new Chart(ref.current, {
      type: kind,
      data: {
        labels,
        datasets: series.map((s) => ({
          label: s.label,
          data: s.data,
          borderColor: s.color,
          backgroundColor: s.color,
          borderWidth: kind === 'line' ? 3 : 1,
          pointRadius: 4,
          spanGaps: true,
        })),
      },
      options: {
        animation: false,
        responsive: false,
        plugins: { legend: { position: 'bottom', labels: { color: '#cfd6df' } } },
        scales: {
          x: { stacked, ticks: { color: '#cfd6df' }, grid: { color: '#333b45' } },
          y: { stacked, beginAtZero: true, ...(max !== undefined ? { max } : {}), title: { display: true, text: yTitle, color: '#cfd6df' }, ticks: { color: '#cfd6df' }, grid: { color: '#333b45' } },
        },
      },
    });
    // Where the plot is (without legend and axes), for whoever checks the pixels.
    const a = chart.chartArea;
    ref.current.dataset.area = [a.left, a.top, a.right, a.bottom].map(Math.round).join(',');
    ref.current.dataset.drawn = String(series.length);
    return () => chart.destroy();
  }, [kind, labels, series, yTitle, stacked, max]);
  return <canvas ref={ref} width={560} height={280} data-testid={testId} />;
}
