/** Saving the report draft now (before a sign-off): a hook the findings sign-off awaits, with no dependency on the panel. */
let pending: (() => Promise<void>) | null = null;

/** The panel registers what saving its unsaved draft means (null when nothing is waiting). */
export function setPendingReportSave(fn: (() => Promise<void>) | null): void {
  pending = fn;
}

export async function flushReportDraft(): Promise<void> {
  const fn = pending;
  pending = null;
  if (fn) await fn();
}
