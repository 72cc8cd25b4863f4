import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { browserRunnable } from './registry';

const local = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'models', 'head-ct-hyperdensity', 'manifest.json'), 'utf8')) as Record<string, unknown>;

describe('browserRunnable: the models this browser may run', () => {
  it('keeps a local model with its URL; never a remote one (its study leaves only through the gateway, de-identified); drops what does not parse', () => {
    const remote = { ...local, name: 'remote-ct', runtime: { kind: 'remote', url: 'https://ai.example.org/dicomweb' }, modelUrl: '/api/models/remote-ct/model' };
    const models = [{ ...local, modelUrl: '/api/models/head-ct-hyperdensity/model' }, remote, { name: 'broken', modelUrl: '/x' }];
    const out = browserRunnable(models);
    expect(out.map((m) => [m.name, m.modelUrl])).toEqual([['head-ct-hyperdensity', '/api/models/head-ct-hyperdensity/model']]);
    // The same manifest with runtime local (explicit) runs here.
    expect(browserRunnable([{ ...local, runtime: { kind: 'local' }, modelUrl: '/m' }]).map((m) => m.name)).toEqual(['head-ct-hyperdensity']);
  });
});
