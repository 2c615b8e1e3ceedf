import type { Identity } from '../identity/identity.js';
import { PublicKey } from '../identity/public-key.js';
import { isClipsyncError } from '../core/errors.js';
import { CloseCode, ProtocolViolation } from '../wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, field, malformed } from '../wire/frame.js';
import { Opener, Sealer } from './channel.js';
import { KX_PUBLIC_KEY_BYTES, hash, kxKeyPair, kxSessionKeys, randomBytes, wipe, type KxKeyPair, type SessionKeys } from './sodium.js';

export const PROTOCOL_NAME = 'clipsync';
export const PROTOCOL_VERSION = 3;
const TRANSCRIPT_LABEL = Buffer.from('clipsync handshake v1');
const NONCE_BYTES = 32;
export const MAX_NAME_LENGTH = 64;
/** HELLO and AUTH are small (an RSA-8192 key is ~1.1 KB); anything bigger is hostile or broken. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 8 * 1024;

export type Role = 'initiator' | 'responder';

export interface HandshakeConfig {
  role: Role;
  identity: Identity;
  name: string;
  /** Returns the trust entry for a key, or undefined when it is not trusted. */
  checkTrust(key: PublicKey): Promise<{ name: string } | undefined>;
  /**
   * Initiator only: dial in pairing mode. The HELLO carries `"pair": true`, and the peer's
   * key is not checked against trust: finding out whether to trust it is what pairing is for.
   */
  pairing?: boolean;
  /**
   * Responder only: how to answer a HELLO that carries `"pair": true`. Left out, pairing is
   * not offered and such a HELLO is judged like any other (trust check, 4001). Given, it is
   * called before this side signs anything, may refuse by throwing a ProtocolViolation (1013
   * when too many requests are pending), and the connection becomes a pairing connection.
   */
  admitPairing?(peer: { fingerprint: string; name: string }): void;
}

export interface HandshakeResult {
  peerKey: PublicKey;
  /** The name the peer announced; the trust store's name for it wins where one is set. */
  peerName: string;
  /** Encrypts what this side sends. */
  sealer: Sealer;
  /** Decrypts what the peer sends. */
  opener: Opener;
  transcriptHash: Buffer;
  /**
   * A pairing connection (the initiator's HELLO asked for it): both keys are proven, but
   * trust was not checked, so it must carry pairing frames only and never reach the sync engine.
   */
  pairing: boolean;
}

export interface HandshakeStep {
  send: Buffer[];
  result?: HandshakeResult;
}

/**
 * The handshake as a state machine with no I/O: feed it each received message, send what it
 * returns. Both sides send HELLO at once; on the peer's HELLO a side checks the key is
 * trusted and signs the transcript (both HELLOs byte for byte, in initiator-then-responder
 * order, under a fixed label) together with its role; on the peer's AUTH it verifies that
 * signature. A valid AUTH therefore proves the peer holds its key, saw this exact exchange
 * (fresh nonces and ephemeral keys from both sides, so no replay), and trusts us. Any
 * failure throws a ProtocolViolation carrying the close code to send.
 *
 * Pairing (docs/PROTOCOL.md §9.1) is the one exception to "trusts us": a dialer may ask for
 * it in its HELLO, and then neither side checks trust (the responder admits the request
 * instead). Keys are still proven both ways; the result says `pairing`, and such a
 * connection must carry pairing frames only.
 */
export class Handshake {
  private readonly ephemeral: KxKeyPair = kxKeyPair();
  private readonly ownHello: Buffer;
  private peerHello: Buffer | undefined;
  private peer: { key: PublicKey; name: string; ephemeral: Buffer } | undefined;
  private transcript: Buffer | undefined;
  private sessionKeys: SessionKeys | undefined;
  private sealer: Sealer | undefined;
  private finished = false;
  private pairing = false;
  /** Who the peer says it is, known from its HELLO before it is verified: for refusal logs. */
  claimed: { fingerprint: string; name: string } | undefined;

  constructor(private readonly config: HandshakeConfig) {
    this.ownHello = encodeFrame(FrameType.hello, {
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      name: config.name.slice(0, MAX_NAME_LENGTH),
      key: config.identity.publicKey.blob.toString('base64'),
      eph: this.ephemeral.publicKey.toString('base64'),
      nonce: randomBytes(NONCE_BYTES).toString('base64'),
      // Only a pairing dial says so: an ordinary HELLO stays byte for byte what it always was.
      ...(config.role === 'initiator' && config.pairing === true ? { pair: true } : {}),
    });
  }

  /** Wipes every secret the handshake still holds (called when the connection closes). */
  dispose(): void {
    wipe(this.ephemeral.secretKey);
    if (this.sessionKeys !== undefined) {
      wipe(this.sessionKeys.rx);
      wipe(this.sessionKeys.tx);
    }
    if (!this.finished) this.sealer?.dispose();
  }

  /** The first message to send, right after the connection opens. */
  hello(): Buffer {
    return this.ownHello;
  }

  async receive(message: Buffer): Promise<HandshakeStep> {
    if (this.finished) throw malformed('a second handshake on one connection');
    if (message.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
      throw malformed(`handshake message of ${message.length} bytes is over the ${MAX_HANDSHAKE_MESSAGE_BYTES}-byte limit`);
    }
    const frame = decodeFrame(message);
    if (frame.type === FrameType.hello) {
      if (this.peerHello !== undefined) throw malformed('a second HELLO');
      return this.onHello(message, frame.header);
    }
    if (frame.type === FrameType.auth) {
      if (this.peerHello === undefined) throw malformed('AUTH before HELLO');
      return this.onAuth(frame.header);
    }
    throw new ProtocolViolation(CloseCode.notAuthenticated, 'a data frame before the handshake finished');
  }

  private async onHello(message: Buffer, header: Record<string, unknown>): Promise<HandshakeStep> {
    const protocol = field.string(header, 'protocol');
    const version = field.integer(header, 'version');
    if (protocol !== PROTOCOL_NAME || version !== PROTOCOL_VERSION) {
      throw new ProtocolViolation(
        CloseCode.unsupportedVersion,
        `unsupported protocol ${protocol} version ${version}; this daemon speaks ${PROTOCOL_NAME} ${PROTOCOL_VERSION}`,
      );
    }
    const name = field.string(header, 'name', MAX_NAME_LENGTH);
    const ephemeral = field.bytes(header, 'eph', KX_PUBLIC_KEY_BYTES);
    field.bytes(header, 'nonce', NONCE_BYTES);
    const pairFlag = header['pair'];
    if (pairFlag !== undefined && typeof pairFlag !== 'boolean') throw malformed('field "pair" must be true or false');
    let key: PublicKey;
    try {
      key = PublicKey.fromBlob(field.bytes(header, 'key'));
    } catch (err) {
      throw malformed(isClipsyncError(err) ? `peer key: ${err.message}` : 'peer key could not be parsed');
    }
    this.claimed = { fingerprint: key.fingerprint, name };
    if (key.fingerprint === this.config.identity.publicKey.fingerprint) {
      throw new ProtocolViolation(CloseCode.selfConnection, `connected to itself (${key.fingerprint})`);
    }
    let trustedName = '';
    if (this.config.role === 'initiator' && this.config.pairing === true) {
      this.pairing = true;
    } else if (this.config.role === 'responder' && pairFlag === true && this.config.admitPairing !== undefined) {
      // The mode is the initiator's HELLO, which both sides sign: neither can be talked into
      // treating a pairing connection as a session, or the other way round.
      this.config.admitPairing({ fingerprint: key.fingerprint, name });
      this.pairing = true;
    } else {
      const trusted = await this.config.checkTrust(key);
      if (trusted === undefined) {
        throw new ProtocolViolation(CloseCode.untrusted, `key ${key.fingerprint} is not trusted`);
      }
      trustedName = trusted.name;
    }
    this.peerHello = message;
    this.peer = { key, name: trustedName !== '' ? trustedName : name, ephemeral };
    this.transcript = this.transcriptHash();
    try {
      this.sessionKeys = kxSessionKeys(this.config.role, this.ephemeral, ephemeral);
    } catch {
      throw malformed('peer ephemeral key is not a valid X25519 public key');
    }
    wipe(this.ephemeral.secretKey); // forward secrecy: the exchange is done, the secret goes
    this.sealer = new Sealer(this.sessionKeys.tx);
    wipe(this.sessionKeys.tx);
    const signed = await this.config.identity.sign(this.signedPayload(this.config.role));
    const auth = encodeFrame(FrameType.auth, {
      alg: signed.algorithm,
      sig: signed.signature.toString('base64'),
    });
    return { send: [auth] };
  }

  private onAuth(header: Record<string, unknown>): HandshakeStep {
    const peer = this.peer!;
    const algorithm = field.string(header, 'alg', 64);
    const signature = field.bytes(header, 'sig');
    const peerRole: Role = this.config.role === 'initiator' ? 'responder' : 'initiator';
    if (!peer.key.verify(this.signedPayload(peerRole), signature, algorithm)) {
      throw new ProtocolViolation(CloseCode.badSignature, `bad handshake signature from ${peer.key.fingerprint}`);
    }
    this.finished = true;
    const opener = new Opener(this.sessionKeys!.rx);
    wipe(this.sessionKeys!.rx);
    return {
      send: [],
      result: {
        peerKey: peer.key,
        peerName: peer.name,
        sealer: this.sealer!,
        opener,
        transcriptHash: this.transcript!,
        pairing: this.pairing,
      },
    };
  }

  private transcriptHash(): Buffer {
    const [first, second] =
      this.config.role === 'initiator' ? [this.ownHello, this.peerHello!] : [this.peerHello!, this.ownHello];
    return hash(TRANSCRIPT_LABEL, lengthPrefix(first), first, lengthPrefix(second), second);
  }

  /** What a side signs: the transcript hash and its role, so a signature cannot be reflected back. */
  private signedPayload(role: Role): Buffer {
    return Buffer.concat([this.transcript!, Buffer.from(role)]);
  }
}

function lengthPrefix(buffer: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(buffer.length, 0);
  return out;
}
