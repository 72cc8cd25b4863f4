/**
 * The words and shapes for a priority or severity, one table for every view (worklist flag, legend,
 * findings panel, alerts, report): colour is never the only carrier, so each level has a word and a
 * distinct shape as well (colour-blind safe).
 */
export type Level = 'critical' | 'urgent' | 'routine';

const WORD: Record<Level, string> = { critical: 'Critical', urgent: 'Urgent', routine: 'Routine' };
/** Triangle, diamond, circle: told apart without colour, and in greyscale print. */
const SHAPE: Record<Level, string> = { critical: '▲', urgent: '◆', routine: '●' };

export const LEVELS: readonly Level[] = ['critical', 'urgent', 'routine'];

export function isLevel(v: unknown): v is Level {
  return v === 'critical' || v === 'urgent' || v === 'routine';
}

/** "Critical", "Urgent", "Routine"; '' for none or an unknown value. */
export function severityWord(level: string | null | undefined): string {
  return isLevel(level) ? WORD[level] : '';
}

/** "▲", "◆", "●"; '' for none. */
export function severityShape(level: string | null | undefined): string {
  return isLevel(level) ? SHAPE[level] : '';
}

/** What the legend says for each level. */
export const SEVERITY_LEGEND: readonly { level: Level; shape: string; word: string; meaning: string }[] = [
  { level: 'critical', shape: SHAPE.critical, word: WORD.critical, meaning: 'read now (e.g. haemorrhage, pneumothorax)' },
  { level: 'urgent', shape: SHAPE.urgent, word: WORD.urgent, meaning: 'read soon (e.g. fracture)' },
  { level: 'routine', shape: SHAPE.routine, word: WORD.routine, meaning: 'AI finding, no urgency' },
];
