/** The findings commands and their default keys (remappable through the viewer's bindings). */
import { defineCommands } from '../core/commands/commands';

export const FINDINGS_COMMANDS = {
  toggleOverlays: 'findings.toggleOverlays',
  toggleHeatmaps: 'findings.toggleHeatmaps',
  next: 'findings.next',
  prev: 'findings.prev',
  accept: 'findings.accept',
  reject: 'findings.reject',
  rejectReason: 'findings.rejectReason',
  grow: 'findings.growBox',
  shrink: 'findings.shrinkBox',
  cycleType: 'findings.cycleType',
  extentFirst: 'findings.extentFirst',
  extentLast: 'findings.extentLast',
  undo: 'findings.undo',
  signoff: 'findings.signoff',
  opacityUp: 'findings.heatmapOpacityUp',
  opacityDown: 'findings.heatmapOpacityDown',
} as const;

const C = FINDINGS_COMMANDS;
defineCommands([
  { command: C.toggleOverlays, label: 'Show / hide all AI marks', keys: ['o'], group: 'AI findings' },
  { command: C.toggleHeatmaps, label: 'Show / hide AI heatmaps', keys: ['h'], group: 'AI findings' },
  // Lower-case p is the viewer's pan tool, so previous is Shift+P.
  { command: C.next, label: 'Next finding', keys: ['n', 'N'], group: 'AI findings' },
  { command: C.prev, label: 'Previous finding', keys: ['P'], group: 'AI findings' },
  { command: C.accept, label: 'Accept the selected finding', keys: ['a'], group: 'AI findings' },
  { command: C.reject, label: 'Reject the selected finding', keys: ['x'], group: 'AI findings' },
  { command: C.rejectReason, label: 'Reject: next reason (false positive, artefact, insignificant, other)', keys: ['X'], group: 'AI findings' },
  { command: C.grow, label: 'Modify: enlarge the selected box by 10%', keys: ['.'], group: 'AI findings' },
  { command: C.shrink, label: 'Modify: shrink the selected box by 10%', keys: [','], group: 'AI findings' },
  { command: C.cycleType, label: 'Modify: change the finding type', keys: ['t'], group: 'AI findings' },
  // [ and ] are the viewer's series keys, so the slice range takes their shifted neighbours.
  { command: C.extentFirst, label: 'Modify: the selected finding starts at this slice', keys: ['{'], group: 'AI findings' },
  { command: C.extentLast, label: 'Modify: the selected finding ends at this slice', keys: ['}'], group: 'AI findings' },
  { command: C.undo, label: 'Undo the last verdict (until sign-off)', keys: ['Ctrl+z', 'u'], group: 'AI findings' },
  { command: C.signoff, label: 'Sign off the study (press again, or Enter, to confirm while findings are unverified)', keys: ['S'], group: 'AI findings' },
  { command: C.opacityUp, label: 'Heatmap opacity +10%', keys: ['Shift+ArrowUp'], group: 'AI findings' },
  { command: C.opacityDown, label: 'Heatmap opacity −10%', keys: ['Shift+ArrowDown'], group: 'AI findings' },
]);
