import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../gateway/db/database.js';
import { migrate } from '../gateway/db/migrations.js';
import { findingsForStudy, recordVerdict } from '../gateway/findings/repository.js';
import { loadDemoFindings, seedDemoFindings } from './seed-demo-findings.js';

let store: Store | undefined;
afterEach(async () => store?.close());

describe('demo findings fixture', () => {
  it('is valid and covers both demo studies with boxes inside their images', () => {
    const fs = loadDemoFindings();
    const studies = new Set(fs.map((f) => f.studyInstanceUID));
    expect(studies.size).toBe(2);
    for (const f of fs)
      for (const r of f.regions) {
        const size = f.studyInstanceUID.startsWith('1.2.392') ? 440 : 512; // chest CR 440², head CT 512²
        if (r.box) expect(r.box.x + r.box.width <= size && r.box.y + r.box.height <= size && r.box.x >= 0 && r.box.y >= 0).toBe(true);
      }
    expect(fs.some((f) => f.heatmaps?.length)).toBe(true);
  });

  it('seeds once and never overwrites a verdict', async () => {
    store = await openStore(':memory:');
    await migrate(store);
    expect(await seedDemoFindings(store.db)).toEqual({ inserted: 5, kept: 0 });
    const out = await recordVerdict(store.db, 'fixture-ct-ich-2', { action: 'reject', reason: 'artefact' }, { username: 'rita', role: 'radiologist' }, new Date().toISOString());
    expect(out.ok).toBe(true);
    const mod = await recordVerdict(store.db, 'fixture-ct-ich-1', { action: 'modify', changes: { box: { x: 150, y: 200, width: 50, height: 50 } } }, { username: 'rita', role: 'radiologist' }, new Date().toISOString());
    expect(mod.ok).toBe(true);
    expect(await seedDemoFindings(store.db)).toEqual({ inserted: 0, kept: 5 });
    const ct = await findingsForStudy(store.db, '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668');
    expect(ct.find((f) => f.id === 'fixture-ct-ich-2')?.status).toBe('rejected');
    expect(ct.find((f) => f.id === 'fixture-ct-ich-1')).toBeUndefined();
    expect(ct.find((f) => f.id === 'fixture-ct-ich-1~mod')?.originalId).toBe('fixture-ct-ich-1');
  });
});
