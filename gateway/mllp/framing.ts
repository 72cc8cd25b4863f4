/** MLLP framing: <VT> message <FS><CR>. The decoder copes with frames split across reads and several frames in one read. */
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export function frame(message: string): Buffer {
  return Buffer.concat([Buffer.from([VT]), Buffer.from(message, 'utf8'), Buffer.from([FS, CR])]);
}

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes seen outside any frame (noise before a VT); counted, not kept. */
  discarded = 0;
  constructor(private readonly maxFrameBytes = 10 * 1024 * 1024) {}

  /** Feeds bytes; returns every complete message now available, in order. */
  push(chunk: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      const start = this.buf.indexOf(VT);
      if (start < 0) {
        this.discarded += this.buf.length;
        this.buf = Buffer.alloc(0);
        break;
      }
      if (start > 0) {
        this.discarded += start;
        this.buf = this.buf.subarray(start);
      }
      let end = -1;
      for (let i = 1; i + 1 < this.buf.length; i++) {
        if (this.buf[i] === FS && this.buf[i + 1] === CR) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        if (this.buf.length > this.maxFrameBytes) throw new Error(`MLLP frame larger than ${this.maxFrameBytes} bytes without an end block`);
        break;
      }
      out.push(this.buf.subarray(1, end).toString('utf8'));
      this.buf = this.buf.subarray(end + 2);
    }
    return out;
  }
}
