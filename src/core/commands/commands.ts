/**
 * Commands and hotkeys as data. Toolbar buttons, the keyboard and panels all run commands by id;
 * the key bindings are a plain table the user can remap (persisted by the viewer in localStorage).
 * Capabilities contribute their commands with `defineCommands`.
 */
export interface CommandSpec {
  /** Stable id, e.g. 'viewer.nextSlice', 'findings.toggleOverlays' */
  command: string;
  label: string;
  /** Key strings as KeyboardEvent.key with modifiers, e.g. 'a', 'Shift+A', 'ArrowDown', 'Ctrl+z'. */
  keys: string[];
  group: string;
}

const specs = new Map<string, CommandSpec>();

export function defineCommands(list: CommandSpec[]): void {
  for (const s of list) specs.set(s.command, s);
}

export function allCommands(): CommandSpec[] {
  return [...specs.values()];
}

/** Normalises a KeyboardEvent into the key-string form used in bindings. */
export function keyString(e: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean; shiftKey?: boolean }): string {
  const mods: string[] = [];
  if (e.ctrlKey || e.metaKey) mods.push('Ctrl');
  if (e.altKey) mods.push('Alt');
  // Shift is implicit in printable characters ('?' or 'A'); keep it only for named keys.
  if (e.shiftKey && e.key.length > 1) mods.push('Shift');
  return [...mods, e.key].join('+');
}

export type Bindings = Record<string, string[]>; // command -> keys

/** Builds key -> command from the defaults, overridden by the user's remapping. */
export function resolveBindings(overrides: Bindings = {}): Map<string, string> {
  const map = new Map<string, string>();
  for (const s of specs.values()) {
    for (const k of overrides[s.command] ?? s.keys) map.set(k, s.command);
  }
  return map;
}
