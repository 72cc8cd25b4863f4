import { describe, expect, it } from 'vitest';
import { singlePart, transferSyntaxOf } from './multipart';

const enc = new TextEncoder();
function body(boundary: string, partType: string, payload: Uint8Array): Uint8Array {
  const head = enc.encode(`--${boundary}\r\nContent-Type: ${partType}\r\nContent-Length: ${payload.length}\r\n\r\n`);
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const out = new Uint8Array(head.length + payload.length + tail.length);
  out.set(head);
  out.set(payload, head.length);
  out.set(tail, head.length + payload.length);
  return out;
}

describe('WADO-RS multipart', () => {
  it('extracts the frame bytes and the part transfer syntax, even when the bytes contain CRLF and dashes', () => {
    const payload = enc.encode('\r\n--\r\n\r\nxx--b\r\n');
    const type = 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1';
    const r = singlePart(body('abc123', type, payload), 'multipart/related; type="application/octet-stream"; boundary=abc123');
    expect([...r.bytes]).toEqual([...payload]);
    expect(transferSyntaxOf(r.contentType)).toBe('1.2.840.10008.1.2.1');
  });

  it('defaults to implicit little endian and rejects a body without the boundary', () => {
    expect(transferSyntaxOf('application/octet-stream')).toBe('1.2.840.10008.1.2');
    expect(transferSyntaxOf(undefined)).toBe('1.2.840.10008.1.2');
    expect(() => singlePart(enc.encode('no parts here'), 'multipart/related; boundary=zzz')).toThrow(/malformed multipart/);
  });
});
