/**
 * Starts the demo stack: Orthanc (project-owned config and storage in .data/orthanc), the demo RIS
 * (an MLLP receiver on python-hl7), and the gateway serving the viewer; loads the demo studies
 * (idempotent: Orthanc de-duplicates) and prints the URL and demo log-ins. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODALITIES, modalitiesFromEnv, startOrthanc, uploadFiles } from './lib/orthanc.js';
import { REPO_ROOT } from './lib/demo-data.js';
import { prepareDemoFiles } from './lib/demo-studies.js';
import { DEMO_USERS, ROLE_LABELS } from '../src/core/auth/roles.js';
import { openStore } from '../gateway/db/database.js';
import { migrate } from '../gateway/db/migrations.js';
import { seedDemoFindings } from './seed-demo-findings.js';
import { prepareDemoPrior, seedDemoPrior } from './demo-prior.js';

const DATA = path.join(REPO_ROOT, '.data');
const env = process.env;
const ports = {
  orthancHttp: Number(env.ORTHANC_HTTP_PORT ?? 8042),
  orthancDicom: Number(env.ORTHANC_DICOM_PORT ?? 4242),
  gateway: Number(env.GATEWAY_PORT ?? 8080),
  ris: Number(env.RIS_PORT ?? 2575),
  mllp: Number(env.MLLP_PORT ?? 2576),
};

const children: ChildProcess[] = [];
let stopping = false;
async function stopAll(code = 0): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\n[start] stopping…');
    for (const c of children.reverse()) c.kill('SIGTERM');
    await orthanc?.stop().catch(() => {});
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

fs.mkdirSync(DATA, { recursive: true });
console.log('[start] starting Orthanc');
const orthanc = await startOrthanc({ dataDir: path.join(DATA, 'orthanc'), httpPort: ports.orthancHttp, dicomPort: ports.orthancDicom }).catch((e: Error) => {
  console.error(`[start] ${e.message}`);
  process.exit(1);
});

console.log('[start] loading demo studies');
// The demo files, and a prior of the demo head CT (scripts/demo-prior.ts) for the comparison and interval change.
const files = [...(await prepareDemoFiles(path.join(DATA, 'demo-files'))), ...prepareDemoPrior(path.join(DATA, 'demo-prior'))];
const results = await uploadFiles(orthanc, files);
const stored = results.filter((r) => r.status === 'Success').length;
const already = results.filter((r) => r.status === 'AlreadyStored').length;
const rejected = results.filter((r) => r.status.startsWith('rejected'));
console.log(`[start] ${stored} new, ${already} already stored, ${rejected.length} rejected by Orthanc`);
for (const r of rejected) console.log(`[start]   rejected: ${path.basename(r.file)} (${r.status})`);

// Demo AI findings (fixture, clearly named) so the head CT and chest CR open with marks.
{
  const store = await openStore(path.join(DATA, 'gateway.sqlite'));
  await migrate(store);
  const seeded = await seedDemoFindings(store.db);
  console.log(`[start] demo prior of the head CT: ${await seedDemoPrior(store.db)}`);
  await store.close();
  console.log(`[start] demo findings: ${seeded.inserted} added, ${seeded.kept} already there`);
}

const risScript = path.join(REPO_ROOT, 'scripts', 'demo-ris.py');
if (fs.existsSync(risScript)) {
  const ris = spawn('/usr/bin/python3', [risScript, '--port', String(ports.ris), '--log', path.join(DATA, 'ris.log')], { stdio: 'inherit' });
  children.push(ris);
}

const gateway = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'gateway', 'main.ts')], {
  cwd: REPO_ROOT,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: {
    ...env,
    DEMO: '1',
    GATEWAY_PORT: String(ports.gateway),
    ORTHANC_URL: orthanc.url,
    ORTHANC_USER: orthanc.user,
    ORTHANC_PASSWORD: orthanc.password,
    ORTHANC_DICOM_PORT: String(ports.orthancDicom),
    DATABASE: path.join(DATA, 'gateway.sqlite'),
    STATIC_DIR: path.join(REPO_ROOT, 'dist'),
    RIS_HOST: '127.0.0.1',
    RIS_PORT: String(ports.ris),
    MLLP_PORT: String(ports.mllp),
    LOG: env.LOG ?? '0',
  },
});
children.push(gateway);
gateway.on('exit', (code) => {
  if (!stopping) {
    console.error(`[start] gateway exited (${code})`);
    void stopAll(1);
  }
});
await new Promise<void>((resolve) => gateway.on('message', (m: { ready?: boolean }) => m.ready && resolve()));

const url = `http://127.0.0.1:${ports.gateway}/`;
console.log(`
  Reading station is running:  ${url}

  Demo log-ins (demo mode only):
${DEMO_USERS.map((u) => `    ${u.username.padEnd(6)} / ${u.password.padEnd(10)}  ${ROLE_LABELS[u.role]}`).join('\n')}

  PACS (Orthanc) on loopback :${ports.orthancHttp} (DICOM C-STORE port ${ports.orthancDicom}, AET ${orthanc.aet}, stores only from ${(modalitiesFromEnv(env.DICOM_MODALITIES) ?? DEFAULT_MODALITIES).map((m) => `${m.aet}@${m.host}`).join(', ')}); credentials in .data/orthanc/credentials.json
  Audit trail key (outside the database): ${env.AUDIT_KEY ? 'AUDIT_KEY' : env.AUDIT_KEY_FILE ?? path.join(DATA, 'gateway.sqlite') + '.audit-key'}; check the trail with npm run audit:verify
  Demo RIS (MLLP, python-hl7) on :${ports.ris}, log in .data/ris.log; inbound HL7 orders to the gateway on :${ports.mllp}.
  To watch a study arrive by C-STORE and the worklist re-order live:  npm run demo:arrival
  Press Ctrl-C to stop everything.
`);
