/**
 * No import cycles in src/ or gateway/ (issue 13 item 9): a cycle makes load order decide what a module
 * sees (an import that is still undefined) and ties two jobs into one. Checked with dpdm over the real
 * TypeScript sources, twice: the imports that remain at run time, and every import including
 * `import type` (a type-only cycle is harmless at run time but is the same tangle of responsibilities).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCircular, parseDependencyTree, type DependencyTree } from 'dpdm';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENTRIES = ['gateway/**/*.ts', 'src/**/*.ts', 'src/**/*.tsx'];

async function tree(cwd: string, entries: string[], transform: boolean): Promise<DependencyTree> {
  return parseDependencyTree(entries, {
    cwd,
    context: cwd,
    // transform: TypeScript's own emit first, so `import type` and type-only specifiers are gone (run-time graph).
    transform,
    tsconfig: fs.existsSync(path.join(cwd, 'tsconfig.json')) ? path.join(cwd, 'tsconfig.json') : undefined,
    include: /\.(ts|tsx|js|mjs)$/,
    exclude: /node_modules/,
    skipDynamicImports: false,
  });
}

const show = (cycles: string[][]) => cycles.map((c) => [...c, c[0]].join(' -> '));

describe('import cycles', () => {
  it('the check finds a cycle when there is one (run-time and type-only)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cycles-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json')); // same resolution ('./b.js' is b.ts)
      fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
      fs.writeFileSync(path.join(dir, 'b.ts'), "import { a } from './a.js';\nexport const b = () => a;\n");
      fs.writeFileSync(path.join(dir, 'c.ts'), "import type { D } from './d.js';\nexport interface C { d?: D }\n");
      fs.writeFileSync(path.join(dir, 'd.ts'), "import type { C } from './c.js';\nexport interface D { c?: C }\n");
      const run = show(parseCircular(await tree(dir, ['*.ts'], true)));
      expect(run).toEqual([expect.stringMatching(/^(a\.ts -> b\.ts -> a\.ts|b\.ts -> a\.ts -> b\.ts)$/)]);
      const all = show(parseCircular(await tree(dir, ['*.ts'], false)));
      expect(all).toHaveLength(2);
      expect(all.some((c) => /c\.ts -> d\.ts/.test(c))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('src/ and gateway/ have no run-time import cycle', async () => {
    const t = await tree(ROOT, ENTRIES, true);
    // The graph is really the project's (a misconfigured parse would find no cycle because it found no edges).
    expect(Object.keys(t).length).toBeGreaterThan(200);
    expect(t['gateway/app.ts']?.some((d) => d.id === 'gateway/context.ts')).toBe(true);
    expect(show(parseCircular(t))).toEqual([]);
  });

  it('src/ and gateway/ have no import cycle through type-only imports either', async () => {
    const t = await tree(ROOT, ENTRIES, false);
    expect(show(parseCircular(t))).toEqual([]);
  });
});
