/** The viewer's commands and default keys (remappable; overrides persisted in localStorage). */
import { defineCommands, type Bindings } from '../core/commands/commands';
import { MR_PRESETS, WINDOW_PRESETS, type PresetId } from '../core/imaging/voi';

export const BINDINGS_KEY = 'rs.viewer.bindings';

defineCommands([
  { command: 'viewer.nextImage', label: 'Next image', keys: ['ArrowDown', 'ArrowRight'], group: 'Navigate' },
  { command: 'viewer.prevImage', label: 'Previous image', keys: ['ArrowUp', 'ArrowLeft'], group: 'Navigate' },
  { command: 'viewer.pageDown', label: 'Forward 10 images', keys: ['PageDown'], group: 'Navigate' },
  { command: 'viewer.pageUp', label: 'Back 10 images', keys: ['PageUp'], group: 'Navigate' },
  { command: 'viewer.firstImage', label: 'First image', keys: ['Home'], group: 'Navigate' },
  { command: 'viewer.lastImage', label: 'Last image', keys: ['End'], group: 'Navigate' },
  { command: 'viewer.cine', label: 'Cine: play / stop (loops through the stack or the frames)', keys: ['v'], group: 'Navigate' },
  { command: 'viewer.cineFaster', label: 'Cine: faster (2, 5, 10, 15, 20, 30 frames/s)', keys: ['>'], group: 'Navigate' },
  { command: 'viewer.cineSlower', label: 'Cine: slower', keys: ['<'], group: 'Navigate' },
  { command: 'viewer.nextSeries', label: 'Next series', keys: [']'], group: 'Navigate' },
  { command: 'viewer.prevSeries', label: 'Previous series', keys: ['['], group: 'Navigate' },
  ...(Object.keys(WINDOW_PRESETS) as PresetId[]).map((id, i) => ({
    command: `viewer.preset.${id}`,
    label:
      `Window preset: ${WINDOW_PRESETS[id].label} (W ${WINDOW_PRESETS[id].width} / L ${WINDOW_PRESETS[id].center}) on CT` +
      (MR_PRESETS[i] ? `; ${MR_PRESETS[i].label.toLowerCase()} on MR and XR` : ''),
    keys: [WINDOW_PRESETS[id].key],
    group: 'Window',
  })),
  { command: 'viewer.layout.1x1', label: 'Layout 1×1', keys: ['7'], group: 'Layout' },
  { command: 'viewer.layout.1x2', label: 'Layout 1×2 (two viewports side by side)', keys: ['8'], group: 'Layout' },
  { command: 'viewer.layout.2x2', label: 'Layout 2×2', keys: ['9'], group: 'Layout' },
  { command: 'viewer.nextViewport', label: 'Next viewport (the keys, [ and ] then act on it; or drag a series onto a viewport)', keys: ['j'], group: 'Layout' },
  { command: 'viewer.comparePrior', label: 'Compare with the most recent relevant prior, side by side (again: back to 1×1)', keys: ['C'], group: 'Layout' },
  { command: 'viewer.linkVoi', label: 'Link / unlink window/level between current and prior', keys: ['L'], group: 'Layout' },
  { command: 'viewer.invert', label: 'Invert grey scale', keys: ['i'], group: 'Window' },
  { command: 'viewer.reset', label: 'Reset view (window, zoom, pan, invert)', keys: ['r'], group: 'View' },
  { command: 'viewer.zoomIn', label: 'Zoom in', keys: ['+', '='], group: 'View' },
  { command: 'viewer.zoomOut', label: 'Zoom out', keys: ['-'], group: 'View' },
  { command: 'viewer.tool.windowLevel', label: 'Left drag: window/level', keys: ['w'], group: 'Mouse' },
  { command: 'viewer.tool.pan', label: 'Left drag: pan', keys: ['p'], group: 'Mouse' },
  { command: 'viewer.tool.zoom', label: 'Left drag: zoom', keys: ['z'], group: 'Mouse' },
  { command: 'measure.length', label: 'Left drag: measure a length (mm, or px without Pixel Spacing)', keys: ['l'], group: 'Measure' },
  { command: 'measure.angle', label: 'Left click ×3: measure an angle', keys: ['g'], group: 'Measure' },
  { command: 'measure.rectangle', label: 'Left drag: rectangle ROI (mean, SD, min, max, area)', keys: ['b'], group: 'Measure' },
  { command: 'measure.ellipse', label: 'Left drag: ellipse ROI (mean, SD, min, max, area)', keys: ['c'], group: 'Measure' },
  { command: 'measure.probe', label: 'Left click: probe a pixel value', keys: ['k'], group: 'Measure' },
  { command: 'measure.delete', label: 'Delete the selected measurement', keys: ['Delete', 'Backspace'], group: 'Measure' },
  { command: 'measure.undo', label: 'Undo the last measurement change', keys: ['Alt+z'], group: 'Measure' },
  { command: 'finding.markMissed', label: 'Mark a finding the AI missed: drag a box, pick its type (recorded as your finding, never AI)', keys: ['m'], group: 'Findings' },
  { command: 'viewer.help', label: 'Show / hide this help', keys: ['?'], group: 'Help' },
  { command: 'viewer.escape', label: 'Close this help (Esc never leaves the study)', keys: ['Escape'], group: 'Help' },
  { command: 'viewer.worklist', label: 'Back to the worklist', keys: ['Shift+Escape'], group: 'Help' },
]);

export function loadBindings(): Bindings {
  try {
    const b = JSON.parse(localStorage.getItem(BINDINGS_KEY) ?? '{}') as unknown;
    return b && typeof b === 'object' ? (b as Bindings) : {};
  } catch {
    return {};
  }
}

export function saveBindings(b: Bindings): void {
  localStorage.setItem(BINDINGS_KEY, JSON.stringify(b));
}
