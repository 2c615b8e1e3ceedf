import { sshMpint } from './ssh-wire.js';

/**
 * ECDSA signatures travel in SSH's encoding (RFC 5656: mpint r, mpint s), which is what an
 * ssh-agent returns; Node's crypto makes and checks DER (SEQUENCE of two
 * INTEGERs). These convert between the two. Ed25519 and RSA signatures are the same bytes
 * in both worlds.
 */

export function ecdsaDerToSsh(der: Buffer): Buffer {
  let offset = 0;
  const expect = (tag: number): void => {
    if (der[offset++] !== tag) throw new Error('not a DER ECDSA signature');
  };
  const readLength = (): number => {
    let length = der[offset++]!;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      length = 0;
      for (let i = 0; i < bytes; i++) length = (length << 8) | der[offset++]!;
    }
    return length;
  };
  expect(0x30);
  readLength();
  const parts: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    expect(0x02);
    const length = readLength();
    parts.push(sshMpint(der.subarray(offset, offset + length))); // DER's r and s are positive
    offset += length;
  }
  return Buffer.concat(parts);
}

/** Returns undefined for anything that is not two well-formed mpints. */
export function ecdsaSshToDer(ssh: Buffer): Buffer | undefined {
  const ints: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < 2; i++) {
    if (offset + 4 > ssh.length) return undefined;
    const length = ssh.readUInt32BE(offset);
    offset += 4;
    if (length === 0 || offset + length > ssh.length) return undefined;
    ints.push(ssh.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== ssh.length) return undefined;
  const body = Buffer.concat(ints.map((n) => Buffer.concat([Buffer.from([0x02]), derLength(n.length), n])));
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
