/**
 * The viewer's layout while its chunk loads: the same panels and toolbar row as ViewerPage, so the
 * viewport has its final size from the start and the first-image preview does not move when the
 * real viewer replaces this.
 */
import { FirstFramePreview } from './FirstFramePreview';
import { WINDOW_PRESETS, type PresetId } from '../core/imaging/voi';

export function ViewerSkeleton({ studyUID }: { studyUID: string }) {
  return (
    <main className="viewer page" aria-busy="true">
      <aside className="series-panel" aria-label="Series">
        <div className="study-head">
          <div className="patient">—</div>
          <div className="muted">Loading…</div>
        </div>
      </aside>
      <section className="viewer-main">
        <div className="toolbar" aria-hidden="true">
          {(Object.keys(WINDOW_PRESETS) as PresetId[]).map((id) => (
            <button type="button" key={id} disabled>
              {WINDOW_PRESETS[id].label}
            </button>
          ))}
        </div>
        <div className="viewport-wrap">
          <div className="viewport-status">Loading images…</div>
          <FirstFramePreview studyUID={studyUID} />
        </div>
      </section>
      <aside className="side-panel" />
    </main>
  );
}
