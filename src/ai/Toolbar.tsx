/** The AI status area: provider, progress ("AI wasm×2 12/28"), timings, and why AI did not run. */
import { useEffect } from 'react';
import type { ViewerContext } from '../viewer/extensions';
import { statusText, useAiStatus } from './status';
import { cancelStudyRun, currentRun, startStudyRun } from './runner';
import { afterFirstImage, afterStackCached, firstImageShown } from '../app/firstImage';
import { useSession } from '../auth/api';
import { can } from '../core/auth/permissions';

export function AiToolbar({ ctx }: { ctx: ViewerContext }) {
  const s = useAiStatus();
  // The browser runs a model only for a role whose results the gateway takes (findings.browser-ai):
  // no inference, and no refused upload, for the others.
  const mayRun = can(useSession().user?.role, 'findings.browser-ai');
  const ready = mayRun && ctx.imageIds.length > 0 && !!ctx.activeSeriesUID;
  const key = ready ? `${ctx.studyInstanceUID}|${ctx.activeSeriesUID}|${ctx.imageIds.length}` : '';

  useEffect(() => {
    if (!key) return;
    const target = { studyInstanceUID: ctx.studyInstanceUID, imageIds: [...ctx.imageIds], imageRefs: [...ctx.imageRefs] };
    // AI waits for the reader: onnxruntime's download, session creation and inference must not
    // compete with the first look (at most 3 s), then with the decode of the rest of the stack (at
    // most 4 s more): on two cores they made "every slice ready to scroll" half a second later.
    // The slices are then in memory, so the AI reads them at no extra decode cost.
    let started = false;
    let cancelled = false;
    let waiting = afterFirstImage(3000);
    void waiting.promise
      .then(() => {
        if (cancelled || !firstImageShown()) return;
        waiting = afterStackCached(4000);
        return waiting.promise;
      })
      .then(() => {
        if (cancelled) return;
        started = true;
        startStudyRun(target);
      });
    // Closing the study (or switching series) cancels the run: no result lands on another study.
    return () => {
      cancelled = true;
      waiting.cancel();
      if (started) cancelStudyRun(ctx.studyInstanceUID);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  if (s.state === 'idle') return null;
  const colour = s.state === 'error' ? '#ff6b6b' : s.state === 'unavailable' || s.state === 'skipped' ? '#f0c040' : '#ddd';
  return (
    <div
      role="status"
      aria-live="polite"
      data-testid="ai-status"
      data-state={s.state}
      data-refused-by={s.refusedBy ?? ''}
      data-provider={s.provider ?? ''}
      data-done={s.done}
      data-total={s.total}
      style={{ display: 'flex', gap: 6, alignItems: 'center', font: '12px system-ui, sans-serif', color: colour, maxWidth: 520 }}
      title={s.model ? `${s.model.name} ${s.model.version}${s.message ? ` · ${s.message}` : ''}` : s.message}
    >
      {s.state === 'running' && <progress data-testid="ai-progress" value={s.done} max={s.total} style={{ width: 80, height: 8 }} />}
      <span data-testid="ai-status-text">{statusText(s)}</span>
      {s.lateReady && (
        <button
          type="button"
          data-testid="ai-show-late"
          style={{ padding: '1px 6px', borderRadius: 3, border: '1px solid #555', background: 'transparent', color: '#ddd', cursor: 'pointer' }}
          onClick={() => void currentRun()?.showLate()}
        >
          Show late AI results
        </button>
      )}
    </div>
  );
}
