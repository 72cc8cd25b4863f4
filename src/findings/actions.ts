/** Verdict actions on the selected finding: each is one keystroke or one click. */
import { FINDING_TYPES, REJECT_REASONS, type Finding, type RejectReason } from '../core/findings/finding';
import { scaleBox } from '../core/findings/geometry';
import { sendVerdict, signOff, verdictsSettled } from './api';
import { getSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { findById, useFindingsStore } from './state';
import { targetRegion } from './navigation';
import { extentOf, setRangeEnd, sliceRangeOf } from '../core/findings/extent';
import type { ViewerContext } from '../viewer/extensions';

export function canAct(f: Finding | undefined): f is Finding {
  const s = useFindingsStore.getState();
  if (!f) {
    useFindingsStore.setState({ actionError: 'Select a finding first (N / P or click it in the list).' });
    return false;
  }
  if (s.signoff) {
    useFindingsStore.setState({ actionError: `The study was signed off by ${s.signoff.signedBy}: verdicts are locked.` });
    return false;
  }
  return true;
}

const selected = () => findById(useFindingsStore.getState(), useFindingsStore.getState().selectedId);

export async function accept(f = selected()): Promise<void> {
  if (canAct(f)) await sendVerdict(f.id, { action: 'accept' });
}

export async function reject(f = selected(), reason?: RejectReason): Promise<void> {
  if (canAct(f)) await sendVerdict(f.id, { action: 'reject', ...(reason ? { reason } : {}) });
}

/** Shift+X: reject, or if already rejected move to the next reason (none → false positive → …). */
export async function rejectNextReason(f = selected()): Promise<void> {
  if (!canAct(f)) return;
  const cur = f.status === 'rejected' ? f.verdict?.reason : undefined;
  const i = cur ? REJECT_REASONS.indexOf(cur) : -1;
  await sendVerdict(f.id, { action: 'reject', reason: REJECT_REASONS[(i + 1) % REJECT_REASONS.length] });
}

export async function resizeBox(factor: number, f = selected()): Promise<void> {
  if (!canAct(f)) return;
  const region = targetRegion(f);
  const i = f.regions.indexOf(region);
  if (!region.box) {
    useFindingsStore.setState({ actionError: 'This finding has no box to resize.' });
    return;
  }
  await sendVerdict(f.id, { action: 'modify', changes: { regionIndex: i, box: scaleBox(region.box, factor) } });
}

export async function setBox(f: Finding, regionIndex: number, box: { x: number; y: number; width: number; height: number }): Promise<void> {
  if (canAct(f)) await sendVerdict(f.id, { action: 'modify', changes: { regionIndex, box } });
}

/**
 * `{` / `}`: the first / last slice of the selected finding's 3D extent becomes the slice shown now
 * (one keystroke; the other end follows if crossed). Only within the finding's own series.
 */
export async function setExtentEnd(end: 'first' | 'last', ctx: Pick<ViewerContext, 'imageRefs' | 'imageIndex' | 'activeSeriesUID'>, f = selected()): Promise<void> {
  if (!canAct(f)) return;
  if (f.regions[0].image.seriesInstanceUID !== ctx.activeSeriesUID || !ctx.imageRefs[ctx.imageIndex]) {
    useFindingsStore.setState({ actionError: 'Show the finding’s series to change its slice range.' });
    return;
  }
  const sops = ctx.imageRefs.map((r) => r.sopInstanceUID);
  const range = setRangeEnd(sliceRangeOf(f, sops), ctx.imageIndex, end);
  await sendVerdict(f.id, { action: 'modify', changes: { extent: extentOf(range, sops) } });
}

const TYPES = Object.values(FINDING_TYPES);

export async function cycleType(f = selected()): Promise<void> {
  if (!canAct(f)) return;
  const i = TYPES.findIndex((t) => t.value === f.type.value && t.scheme === f.type.scheme);
  await sendVerdict(f.id, { action: 'modify', changes: { type: TYPES[(i + 1) % TYPES.length] } });
}

export async function setType(f: Finding, value: string): Promise<void> {
  const t = TYPES.find((x) => x.value === value);
  if (t && canAct(f)) await sendVerdict(f.id, { action: 'modify', changes: { type: t } });
}

/** Undo: the given finding's last verdict, or (keyboard) the last verdict given in this session. */
export async function undo(f?: Finding): Promise<void> {
  await verdictsSettled();
  const s = useFindingsStore.getState();
  const id = f?.id ?? s.undoStack[s.undoStack.length - 1];
  const target = findById(s, id ?? null);
  if (!id || !target) {
    useFindingsStore.setState({ actionError: 'Nothing to undo.' });
    return;
  }
  if (canAct(target)) await sendVerdict(id, { action: 'undo' });
}

/**
 * The sign-off key: signs off, or, while the panel asks to confirm unverified findings, confirms
 * (the same key twice, or Enter on the focused confirmation).
 */
export async function signOffKey(studyUID: string): Promise<void> {
  const s = useFindingsStore.getState();
  if (!can(getSession().user?.role, 'study.signoff')) {
    useFindingsStore.setState({ actionError: 'Only a radiologist signs off a study.' });
    return;
  }
  if (s.signoff) {
    useFindingsStore.setState({ actionError: `The study was already signed off by ${s.signoff.signedBy}.` });
    return;
  }
  await verdictsSettled();
  await signOff(studyUID, !!useFindingsStore.getState().confirmSignoff);
}

export const FINDING_TYPE_OPTIONS = TYPES;
