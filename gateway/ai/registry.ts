/**
 * THE model registry of a gateway: models/<name>/manifest.json, read once and re-read when a
 * manifest or model file changes (a new model needs no restart, a request no disk walk). /api/models,
 * the model file route, the trust guard and ai-status, and the pre-read's routing all read this one
 * object, which the gateway context carries (ctx.models).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseManifest, type ModelManifest } from '../../src/core/ai/manifest.js';
import { thresholdKey } from '../../src/core/triage/triage.js';

export interface RegisteredModel {
  /** Absolute folder (models/<name>). */
  dir: string;
  manifest: ModelManifest;
  /**
   * The model can run: its model file is there, or it is remote (runtime.kind 'remote': it runs at its
   * endpoint, gateway/external-ai). A model without either is listed but never run.
   */
  hasFile: boolean;
}

export interface ModelRegistry {
  /** Every valid manifest, sorted by name. */
  all(): RegisteredModel[];
  /** What the local pre-read may run: valid manifest, model file present, not remote. */
  list(): RegisteredModel[];
  get(name: string): RegisteredModel | undefined;
  manifests(): ModelManifest[];
  /** Invalid manifests, for those who maintain the registry. */
  errors(): string[];
  /** Per-model and per-class thresholds for prioritise(). */
  thresholds(): Record<string, number>;
  readonly dir: string;
  /** Stops watching the folder (a registry made with `watch`). */
  close(): void;
}

interface Snapshot {
  signature: string;
  models: RegisteredModel[];
  errors: string[];
}

/** Folder names, and size + mtime of every manifest and model file: changes when anything that matters does. */
function signatureOf(root: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(root).sort();
  } catch {
    return 'missing';
  }
  const parts: string[] = [];
  for (const name of names) {
    const manifest = path.join(root, name, 'manifest.json');
    let st: fs.Stats;
    try {
      st = fs.statSync(manifest);
    } catch {
      continue;
    }
    parts.push(`${name}:${st.size}:${st.mtimeMs}`);
    for (const f of fs.existsSync(path.join(root, name)) ? fs.readdirSync(path.join(root, name)) : []) {
      if (!f.endsWith('.onnx')) continue;
      try {
        const m = fs.statSync(path.join(root, name, f));
        parts.push(`${name}/${f}:${m.size}:${m.mtimeMs}`);
      } catch {
        // removed meanwhile
      }
    }
  }
  return parts.join('|');
}

/** The sub-folders of root (models and would-be models), absolute; none when root is missing. */
function listDirs(root: string): string[] {
  try {
    return fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, d.name));
  } catch {
    return [];
  }
}

function readAll(root: string): Omit<Snapshot, 'signature'> {
  const models: RegisteredModel[] = [];
  const errors: string[] = [];
  if (!fs.existsSync(root)) return { models, errors: [`${root}: no such folder`] };
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    const file = path.join(dir, 'manifest.json');
    if (!fs.existsSync(file)) continue;
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
      continue;
    }
    const r = parseManifest(json);
    if (!r.ok) {
      errors.push(`${file}: ${r.errors.join('; ')}`);
      continue;
    }
    if (r.value.name !== name) {
      errors.push(`${dir}: manifest name ${r.value.name} differs from its folder name`);
      continue;
    }
    models.push({ dir, manifest: r.value, hasFile: r.value.runtime?.kind === 'remote' || fs.existsSync(path.join(dir, r.value.files.model)) });
  }
  return { models, errors };
}

/**
 * The registry over a folder. By default the folder's signature (a stat per file, a few files) is
 * checked on every read, and the manifests are parsed again only when it changed. With `watch` (the
 * gateway's, read on every request), the folder and each model folder are watched (inotify) and the
 * signature is checked only after an event, or after `checkMs` in case one was missed (a file system
 * without events); reading the registry then costs no disk access.
 */
export function createModelRegistry(modelsDir: string, opts: { checkMs?: number; watch?: boolean; log?: (msg: string) => void } = {}): ModelRegistry {
  const root = path.resolve(modelsDir);
  const checkMs = opts.checkMs ?? (opts.watch ? 5_000 : 0);
  let snap: Snapshot | null = null;
  let checkedAt = 0;
  let dirty = true;
  let watchers: fs.FSWatcher[] = [];
  let watching = !!opts.watch;
  const watchFolders = () => {
    for (const w of watchers) w.close();
    watchers = [];
    for (const dir of [root, ...listDirs(root)]) {
      if (watchers.length > 64) break;
      try {
        // Not persistent: a watch never keeps the process alive.
        const w = fs.watch(dir, { persistent: false }, () => (dirty = true));
        w.on('error', () => (dirty = true));
        watchers.push(w);
      } catch {
        // Not there (yet) or not watchable: the periodic check covers it.
      }
    }
  };
  const current = (): Snapshot => {
    const now = Date.now();
    if (snap && !dirty && now - checkedAt < checkMs) return snap;
    // Cleared before the walk: an event during it marks the registry dirty again.
    dirty = false;
    checkedAt = now;
    // Watches are set again at each check: a folder made since (a model being installed) is watched too.
    if (watching) watchFolders();
    const signature = signatureOf(root);
    if (snap && snap.signature === signature) return snap;
    const next = { signature, ...readAll(root) };
    for (const e of next.errors) if (!snap?.errors.includes(e)) opts.log?.(`models: ${e}`);
    snap = next;
    return snap;
  };
  return {
    dir: root,
    close() {
      for (const w of watchers) w.close();
      watchers = [];
      watching = false;
    },
    all: () => current().models,
    list: () => current().models.filter((m) => m.hasFile && m.manifest.runtime?.kind !== 'remote'),
    get: (name) => current().models.find((m) => m.manifest.name === name),
    manifests: () => current().models.map((m) => m.manifest),
    errors: () => current().errors,
    thresholds() {
      const t: Record<string, number> = {};
      for (const { manifest } of current().models) for (const c of manifest.output.classes) t[thresholdKey(manifest.name, c.code)] = c.threshold;
      return t;
    },
  };
}
