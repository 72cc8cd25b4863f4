// Same staleness rule as stack.ts, runnable under the build lock without TypeScript.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'];

function newest(p) {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p)) max = Math.max(max, newest(path.join(p, e)));
  return max;
}

export function stale() {
  const index = path.join(ROOT, 'dist', 'index.html');
  if (!fs.existsSync(index)) return true;
  const built = fs.statSync(index).mtimeMs;
  return INPUTS.some((p) => newest(path.join(ROOT, p)) > built);
}
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(stale() ? 1 : 0);
