import { fail } from '../core/errors.js';

/**
 * SSH's wire encoding (RFC 4251 §5) for key blobs, OpenSSH private key files and the agent
 * protocol: uint32 big-endian, `string` (a uint32 length, then that many bytes) and `mpint`
 * (a string holding a two's-complement big-endian integer).
 */

export function uint32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(n, 0);
  return out;
}

export function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

/**
 * A non-negative integer (its unsigned big-endian bytes; leading zeros allowed) as an `mpint`
 * field: minimal, with a zero byte in front when the high bit is set, length first.
 */
export function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return sshString(trimmed.length > 0 && (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** Reads fields in order; anything short or left over is a parse error naming `what`. */
export class SshReader {
  private offset = 0;

  constructor(
    private readonly data: Buffer,
    private readonly what: string,
  ) {}

  uint32(): number {
    this.need(4);
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  byte(): number {
    this.need(1);
    return this.data[this.offset++]!;
  }

  string(): Buffer {
    const length = this.uint32();
    this.need(length);
    const value = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  text(): string {
    return this.string().toString('utf8');
  }

  /** A non-negative mpint as its unsigned big-endian magnitude (leading zeros dropped). */
  unsigned(): Buffer {
    const raw = this.string();
    if (raw.length > 0 && (raw[0]! & 0x80) !== 0) this.broken('a negative integer');
    let start = 0;
    while (start < raw.length && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  get done(): boolean {
    return this.offset === this.data.length;
  }

  rest(): Buffer {
    const value = this.data.subarray(this.offset);
    this.offset = this.data.length;
    return value;
  }

  end(): void {
    if (!this.done) this.broken(`${this.data.length - this.offset} bytes too many`);
  }

  private need(length: number): void {
    if (this.offset + length > this.data.length) this.broken('it ends early');
  }

  private broken(why: string): never {
    throw fail('CLIPSYNC_ERR_KEY_PARSE', `${this.what} is malformed: ${why}`);
  }
}
