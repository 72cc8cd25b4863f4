/**
 * A POSIX ustar archive of a few regular files, in memory: what the feedback export hands over. Kept
 * here (60 lines) rather than a new dependency: entries are our own short ASCII names (no long names,
 * links or attributes), read back by any tar (the integration test unpacks it with GNU tar).
 */
const BLOCK = 512;

function header(name: string, size: number, mtime: number): Uint8Array {
  if (!/^[A-Za-z0-9._\/-]{1,100}$/.test(name)) throw new Error(`tar: unsupported entry name ${name}`);
  const h = new Uint8Array(BLOCK);
  const put = (s: string, off: number, len: number) => {
    for (let i = 0; i < Math.min(s.length, len); i++) h[off + i] = s.charCodeAt(i);
  };
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(mtime / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder: spaces while summing
  h[156] = '0'.charCodeAt(0);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

export function tar(files: { name: string; data: Uint8Array }[], mtime = Date.now()): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    parts.push(header(f.name, f.data.byteLength, mtime), f.data);
    const pad = (BLOCK - (f.data.byteLength % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
