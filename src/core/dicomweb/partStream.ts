/**
 * multipart/related as a stream of parts, each with a Content-Length (our gateway always sends
 * one), so that a reader can hand on each part the moment its last byte arrives and never scans
 * pixel data for a boundary. Both ends are here: the gateway encodes, the browser decodes, and a
 * unit test runs them against each other with the stream cut at awkward places.
 */
const enc = new TextEncoder();

export function partHead(boundary: string, headers: Record<string, string>, length: number): Uint8Array {
  const lines = Object.entries({ ...headers, 'Content-Length': String(length) }).map(([k, v]) => `${k}: ${v}\r\n`);
  return enc.encode(`--${boundary}\r\n${lines.join('')}\r\n`);
}

/** What follows a part's body: the CRLF that ends it. */
export const PART_END = enc.encode('\r\n');

export function closing(boundary: string): Uint8Array {
  return enc.encode(`--${boundary}--\r\n`);
}

export interface Part {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Buffered bytes as a queue of chunks, read from the front without concatenating everything. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  length = 0;

  push(c: Uint8Array): void {
    if (c.length) {
      this.chunks.push(c);
      this.length += c.length;
    }
  }

  /** Index of `needle` from the front (searching at most `limit` bytes), or -1. */
  indexOf(needle: Uint8Array, limit: number): number {
    const n = Math.min(this.length, limit);
    const head = this.peek(n);
    outer: for (let i = 0; i + needle.length <= head.length; i++) {
      for (let j = 0; j < needle.length; j++) if (head[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  }

  peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let off = this.offset;
    for (const c of this.chunks) {
      if (filled >= n) break;
      const take = Math.min(c.length - off, n - filled);
      out.set(c.subarray(off, off + take), filled);
      filled += take;
      off = 0;
    }
    return out;
  }

  take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      const avail = c.length - this.offset;
      if (avail > left) {
        this.offset += left;
        left = 0;
      } else {
        left -= avail;
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

const HEADER_LIMIT = 16 * 1024;

/** Parts of a multipart/related stream, in order, each as soon as it is complete. */
export async function* readParts(stream: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<Part> {
  const reader = stream.getReader();
  const q = new ByteQueue();
  const delimiter = enc.encode(`--${boundary}`);
  const crlf2 = enc.encode('\r\n\r\n');
  let done = false;
  const fill = async (n: number): Promise<boolean> => {
    while (q.length < n && !done) {
      const r = await reader.read();
      if (r.done) done = true;
      else q.push(r.value);
    }
    return q.length >= n;
  };
  try {
    for (;;) {
      // Delimiter line, then either "--" (the end) or headers up to a blank line.
      if (!(await fill(delimiter.length + 2))) throw new Error('multipart stream ended before its closing delimiter');
      if (!q.peek(delimiter.length).every((b, i) => b === delimiter[i])) throw new Error('malformed multipart stream: expected a boundary');
      q.take(delimiter.length);
      const tail = new TextDecoder().decode(q.peek(2));
      if (tail === '--') return;
      let end = -1;
      while ((end = q.indexOf(crlf2, HEADER_LIMIT)) < 0) {
        if (q.length >= HEADER_LIMIT || done) throw new Error('malformed multipart stream: part headers do not end');
        await fill(q.length + 1);
      }
      const headerText = new TextDecoder().decode(q.take(end + crlf2.length));
      const headers: Record<string, string> = {};
      for (const line of headerText.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length']);
      if (!Number.isInteger(length) || length < 0) throw new Error('multipart part without a Content-Length');
      if (!(await fill(length + 2))) throw new Error('multipart stream ended inside a part');
      const body = q.take(length);
      q.take(2); // CRLF before the next delimiter
      yield { headers, body };
    }
  } finally {
    reader.releaseLock();
  }
}

export function boundaryOf(contentType: string | null | undefined): string | undefined {
  return /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
}
