/**
 * No SQL built by string concatenation: every gateway query goes through Kysely's builder or a
 * `sql` tagged template (which binds interpolations as parameters). This scans the gateway and
 * scripts sources so a raw-SQL escape hatch cannot slip in unnoticed.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

const RULES: [RegExp, string][] = [
  [/sql\.raw\s*\(/, 'sql.raw() takes unescaped SQL'],
  [/sql\.lit\s*\(/, 'sql.lit() inlines values'],
  [/\.(prepare|exec)\s*\(\s*`[^`]*\$\{/, 'a better-sqlite3 statement built with ${...}'],
  [/\.(prepare|exec)\s*\(\s*['"][^'"]*['"]\s*\+/, 'a better-sqlite3 statement built with +'],
  [/(SELECT|INSERT|UPDATE|DELETE)\b[^`'"]*['"`]\s*\+\s*\w/, 'SQL text concatenated with a value'],
];

describe('no SQL by string concatenation', () => {
  it('finds no raw or concatenated SQL in gateway/ and scripts/', () => {
    const offences: string[] = [];
    for (const file of [...sources(path.join(REPO_ROOT, 'gateway')), ...sources(path.join(REPO_ROOT, 'scripts'))]) {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [re, why] of RULES) if (re.test(line)) offences.push(`${path.relative(REPO_ROOT, file)}:${i + 1}: ${why}`);
      });
    }
    expect(offences).toEqual([]);
  });

  it('the scanner itself catches the patterns it looks for', () => {
    const bad = ["db.prepare(`SELECT * FROM users WHERE name = '${name}'`)", "db.exec('DELETE FROM x WHERE id=' + id)", 'sql.raw(userInput)'];
    for (const b of bad) expect(RULES.some(([re]) => re.test(b)), b).toBe(true);
  });
});
