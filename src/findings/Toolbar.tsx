/** Toolbar items: AI marks on/off, heatmaps on/off, heatmap opacity. State is visible at a glance. */
import type { ViewerContext } from '../viewer/extensions';
import { resolveBindings } from '../core/commands/commands';
import { useFindingsStore } from './state';
import { FINDINGS_COMMANDS } from './commands';

function keyFor(command: string): string {
  for (const [k, c] of resolveBindings()) if (c === command) return k;
  return '';
}

export function FindingsToolbar(_props: { ctx: ViewerContext }) {
  const s = useFindingsStore();
  const btn = (on: boolean) => ({ padding: '2px 8px', borderRadius: 3, border: '1px solid #555', background: on ? '#ffb000' : 'transparent', color: on ? '#000' : '#ddd', cursor: 'pointer' });
  return (
    <div role="group" aria-label="AI overlays" style={{ display: 'flex', gap: 6, alignItems: 'center', font: '12px system-ui, sans-serif' }}>
      <button
        type="button"
        data-testid="toggle-ai-overlays"
        aria-pressed={s.overlaysVisible}
        title={`Show / hide all AI marks (${keyFor(FINDINGS_COMMANDS.toggleOverlays)})`}
        style={btn(s.overlaysVisible)}
        onClick={() => useFindingsStore.setState({ overlaysVisible: !s.overlaysVisible })}
      >
        AI marks {s.overlaysVisible ? 'on' : 'off'}
      </button>
      <button
        type="button"
        data-testid="toggle-ai-heatmaps"
        aria-pressed={s.heatmapsVisible}
        disabled={!s.overlaysVisible}
        title={`Show / hide AI heatmaps (${keyFor(FINDINGS_COMMANDS.toggleHeatmaps)})`}
        style={btn(s.overlaysVisible && s.heatmapsVisible)}
        onClick={() => useFindingsStore.setState({ heatmapsVisible: !s.heatmapsVisible })}
      >
        Heatmaps {s.heatmapsVisible ? 'on' : 'off'}
      </button>
      <label title="Heatmap opacity" style={{ display: 'flex', alignItems: 'center', gap: 4, color: '#ddd' }}>
        <span aria-hidden>◐</span>
        <input
          type="range"
          aria-label="Heatmap opacity"
          min={0.1}
          max={1}
          step={0.05}
          value={s.heatmapOpacity}
          onChange={(e) => useFindingsStore.setState({ heatmapOpacity: Number(e.target.value) })}
          style={{ width: 70 }}
        />
      </label>
    </div>
  );
}
