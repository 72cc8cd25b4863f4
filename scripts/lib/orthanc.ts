/**
 * Starts a real Orthanc (Debian package) with a project-owned config and storage.
 * Used by `npm start` (fixed ports, .data/orthanc) and by the test harness (random ports, temp dir).
 * Orthanc 1.10 cannot bind to loopback alone, so RemoteAccessAllowed=false plus HTTP basic auth
 * with a generated password (stored beside the data, never a default) keep it private.
 *
 * The DICOM port: Orthanc (1.10.1 here; its configuration has no listen-address option for DICOM,
 * checked by dumping its defaults with `Orthanc --config=defaults.json`) listens on every interface, so it is narrowed by what it accepts:
 * C-STORE (and C-ECHO) only from the configured modalities (DicomAlwaysAllowStore/Echo false,
 * DicomModalities), each checked by calling AE title AND source address (DicomCheckModalityHost), and
 * only when addressed by our own AE title (DicomCheckCalledAet). No query/retrieve over DICOM at all
 * (find/get/move stay off: the gateway reads through DICOMweb with credentials). To keep the port off
 * the network entirely, drop it in the host firewall (README, "Configuration").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';

export const ORTHANC_BIN = process.env.ORTHANC_BIN ?? '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
/** Debian's orthanc-postgresql: the index (patients, studies... and their tags) in PostgreSQL; files stay on disk. */
export const POSTGRESQL_INDEX_PLUGIN = '/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so';

/** Where Orthanc keeps its index when not in its own SQLite file (the scale profile, scripts/scale.ts). */
export interface OrthancPostgresIndex {
  host: string;
  port: number;
  database: string;
  username: string;
  password?: string;
}

export interface OrthancHandle {
  url: string;
  httpPort: number;
  dicomPort: number;
  aet: string;
  user: string;
  password: string;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** REST call with credentials. */
  rest(pathname: string, init?: RequestInit): Promise<Response>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A modality allowed to send (C-STORE) to the PACS: its calling AE title and the address it connects from. */
export interface DicomModality {
  aet: string;
  host: string;
  /** Its own DICOM port (Orthanc needs one; only used if Orthanc ever connects back). */
  port?: number;
}

/**
 * The modalities allowed by default: the demo "modality" of this repository (scripts/demo-arrival.ts,
 * the pre-read tests and benchmarks, e2e) sends as RSMODALITY from loopback (gateway/preread/study-builder.ts cStore).
 */
export const DEFAULT_MODALITIES: DicomModality[] = [{ aet: 'RSMODALITY', host: '127.0.0.1' }];

/** DICOM_MODALITIES="AET@host[:port],AET2@host2": the modalities allowed to store, replacing the default. */
export function modalitiesFromEnv(value: string | undefined): DicomModality[] | undefined {
  if (!value?.trim()) return undefined;
  return value.split(',').map((item) => {
    const m = /^\s*([ -~]{1,16}?)@([A-Za-z0-9.:\-\[\]]+?)(?::(\d{1,5}))?\s*$/.exec(item);
    if (!m || /[\\]/.test(m[1])) throw new Error(`DICOM_MODALITIES: "${item}" is not AET@host[:port]`);
    return { aet: m[1], host: m[2], ...(m[3] ? { port: Number(m[3]) } : {}) };
  });
}

export interface OrthancOptions {
  dataDir: string;
  httpPort?: number;
  dicomPort?: number;
  aet?: string;
  /** Who may C-STORE (calling AE title + source address); default DICOM_MODALITIES or DEFAULT_MODALITIES. */
  modalities?: DicomModality[];
  /** Seconds without new instances before Orthanc declares a study stable. */
  stableAge?: number;
  quiet?: boolean;
  /** Keep the index in PostgreSQL (orthanc-postgresql's index plugin) instead of SQLite beside the storage. */
  postgresIndex?: OrthancPostgresIndex;
}

function credentials(dataDir: string): { user: string; password: string } {
  const file = path.join(dataDir, 'credentials.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const c = { user: 'gateway', password: crypto.randomBytes(18).toString('base64url') };
  fs.writeFileSync(file, JSON.stringify(c), { mode: 0o600 });
  return c;
}

/** Orthanc's own words for why it stopped: the error lines it wrote after `from` (the log is appended to across starts). */
function logErrors(logPath: string, from: number): string {
  try {
    return fs.readFileSync(logPath).subarray(from).toString('utf8').split('\n').filter((l) => /^E\d{4}/.test(l)).slice(-4).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts Orthanc; if it exits at start because a port was taken, tries again. A port from
 * freePort() is only free when it is picked: on a busy test machine an outgoing connection or
 * another server can take it before Orthanc binds (CI saw "Orthanc exited at start" once).
 * Ports chosen here are picked afresh; ports the caller fixed are retried after a pause
 * (a restart on the same ports can meet the old process's sockets still closing).
 */
export async function startOrthanc(opts: OrthancOptions): Promise<OrthancHandle> {
  const attempts = 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOrthancOnce(opts);
    } catch (e) {
      if (!(e instanceof PortInUseError) || attempt >= attempts) throw e;
      if (!opts.quiet) console.warn(`[orthanc] ${e.message}; trying again (${attempt}/${attempts - 1})`);
      await new Promise((r) => setTimeout(r, opts.httpPort || opts.dicomPort ? 1000 * attempt : 100));
    }
  }
}

export class PortInUseError extends Error {}

async function startOrthancOnce(opts: OrthancOptions): Promise<OrthancHandle> {
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(path.join(dataDir, 'storage'), { recursive: true });
  const httpPort = opts.httpPort ?? (await freePort());
  let dicomPort = opts.dicomPort ?? (await freePort());
  while (dicomPort === httpPort && opts.dicomPort === undefined) dicomPort = await freePort();
  const aet = opts.aet ?? 'RSPACS';
  const modalities = opts.modalities ?? modalitiesFromEnv(process.env.DICOM_MODALITIES) ?? DEFAULT_MODALITIES;
  const { user, password } = credentials(dataDir);
  const config = {
    Name: 'ReadingStationPACS',
    StorageDirectory: path.join(dataDir, 'storage'),
    IndexDirectory: path.join(dataDir, 'storage'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    DicomServerEnabled: true,
    // Only associations addressed to our AE title, from a listed modality at its listed address.
    DicomCheckCalledAet: true,
    DicomCheckModalityHost: true,
    DicomAlwaysAllowStore: false,
    DicomAlwaysAllowEcho: false,
    DicomAlwaysAllowFind: false,
    DicomAlwaysAllowFindWorklist: false,
    DicomAlwaysAllowGet: false,
    DicomAlwaysAllowMove: false,
    DicomModalitiesInDatabase: false,
    DicomModalities: Object.fromEntries(
      modalities.map((m, i) => [
        `modality-${i + 1}`,
        { AET: m.aet, Host: m.host, Port: m.port ?? 104, AllowEcho: true, AllowStore: true, AllowFind: false, AllowFindWorklist: false, AllowGet: false, AllowMove: false, AllowStorageCommitment: false },
      ]),
    ),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    HttpCompressionEnabled: false,
    StableAge: opts.stableAge ?? 2,
    ConcurrentJobs: 1,
    Plugins: opts.postgresIndex ? [DICOMWEB_PLUGIN, POSTGRESQL_INDEX_PLUGIN] : [DICOMWEB_PLUGIN],
    ...(opts.postgresIndex
      ? {
          PostgreSQL: {
            EnableIndex: true,
            EnableStorage: false,
            Host: opts.postgresIndex.host,
            Port: opts.postgresIndex.port,
            Database: opts.postgresIndex.database,
            Username: opts.postgresIndex.username,
            Password: opts.postgresIndex.password ?? '',
            Lock: true,
          },
        }
      : {}),
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false, StudiesMetadata: 'Full', SeriesMetadata: 'Full' },
    OrthancExplorerEnabled: false,
  };
  const configPath = path.join(dataDir, 'orthanc.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  const logPath = path.join(dataDir, 'orthanc.log');
  const logFile = fs.openSync(logPath, 'a');
  const logStart = fs.fstatSync(logFile).size;
  const child = spawn(ORTHANC_BIN, [configPath], { stdio: ['ignore', logFile, logFile] });
  fs.closeSync(logFile); // the child holds its own copy
  const url = `http://127.0.0.1:${httpPort}`;
  const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const rest = (p: string, init: RequestInit = {}) => fetch(url + p, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string>) } });
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      const why = logErrors(logPath, logStart);
      const msg = `Orthanc exited at start (HTTP port ${httpPort}, DICOM port ${dicomPort})${why ? `:\n${why}` : ''}\nsee ${logPath}`;
      throw /already in use/i.test(why) ? new PortInUseError(msg) : new Error(msg);
    }
    try {
      // A bounded wait: whatever else answers on the port must not hold the start-up loop.
      const r = await rest('/system', { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Orthanc did not answer on ${url} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url, httpPort, dicomPort, aet, user, password, dataDir, process: child, rest,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    },
  };
}

/** Uploads DICOM files through Orthanc's REST API. Orthanc de-duplicates by SOP Instance UID, so reruns add nothing. */
export async function uploadFiles(orthanc: Pick<OrthancHandle, 'rest'>, files: string[]): Promise<{ file: string; status: string; id?: string }[]> {
  const out: { file: string; status: string; id?: string }[] = [];
  for (const file of files) {
    const r = await orthanc.rest('/instances', { method: 'POST', body: fs.readFileSync(file), headers: { 'content-type': 'application/dicom' } });
    const text = await r.text();
    if (!r.ok) {
      out.push({ file, status: `rejected (${r.status})` });
      continue;
    }
    const j = JSON.parse(text) as { Status: string; ID: string };
    out.push({ file, status: j.Status, id: j.ID });
  }
  return out;
}
