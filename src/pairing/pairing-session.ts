import { EventEmitter } from 'node:events';
import { Timer, type Clock } from '../core/clock.js';
import { messageOf } from '../core/errors.js';
import { CloseCode, ProtocolViolation, describeCloseCode } from '../wire/close-codes.js';
import { FrameType, field, malformed, type Frame, type FrameTypeValue } from '../wire/frame.js';
import type { Role } from '../secure/handshake.js';
import { randomBytes } from '../secure/sodium.js';
import { PAIRING_NONCE_BYTES, nonceCommitment, verificationCode } from './verification-code.js';

/**
 * `exchanging`: nonces being swapped, no code yet; `pending`: the code is shown and waits for
 * both users; `completing`: both accepted, the key is being written to trust; the rest are
 * final.
 */
export type PairingState = 'exchanging' | 'pending' | 'completing' | PairingOutcome;
export type PairingOutcome = 'paired' | 'already-paired' | 'rejected' | 'expired' | 'failed';

export interface PairingResult {
  outcome: PairingOutcome;
  /** Why, for `rejected`, `expired` and `failed`: who did it or what went wrong. */
  detail?: string;
  /** The close code that ended the pairing connection: the one sent for a rejection or expiry, the peer's otherwise. */
  closeCode?: number;
}

/** What a session may do to the world: its connection and the trust store. */
export interface PairingPort {
  send(type: FrameTypeValue, header: object): void;
  close(code: number, reason: string): void;
  /** Adds the peer's key to this side's trust; the session reports `paired` only once it resolved. */
  trustPeer(): Promise<void>;
}

export interface PairingSessionOptions {
  role: Role;
  ownKey: Buffer;
  peerKey: Buffer;
  /** This side already trusts the peer's key (trusted_keys or a trustFiles file). */
  trustsPeer: boolean;
  timeoutMs: number;
  clock: Clock;
  port: PairingPort;
  /** Injected by tests; 32 random bytes otherwise. */
  nonce?: Buffer;
}

export interface PairingSessionEvents {
  code: [string];
  settled: [PairingResult];
  /** Either side accepted (what `pair --pending` and the tray show changed). */
  accepted: [];
}

const ALREADY_PAIRED = 'already paired';

/**
 * One pairing over one pairing connection, as a state machine fed frames, user decisions,
 * the connection's close and the clock (injected, so expiry is tested without waiting):
 *
 *   responder → PAIR_COMMIT {commit, trusted}     commit = H(keys, responder nonce)
 *   initiator → PAIR_NONCE  {nonce, trusted}
 *   responder → PAIR_REVEAL {nonce}               initiator checks it against the commit
 *   both show the code; each user's yes → PAIR_ACCEPT {}
 *
 * Only when this side has both sent and received PAIR_ACCEPT does it trust the peer, then
 * close with 1000. Rejection closes with 4012, the deadline with 4011; any frame out of place
 * (a clip frame above all) with 4005. Nothing else ever travels on the connection.
 */
export class PairingSession extends EventEmitter<PairingSessionEvents> {
  private current: PairingState = 'exchanging';
  private readonly nonce: Buffer;
  private peerCommit: Buffer | undefined;
  private verification: string | undefined;
  private acceptedHere = false;
  private acceptedByPeer = false;
  private result: PairingResult | undefined;
  private readonly deadline: Timer;
  readonly expiresAt: number;
  readonly settled: Promise<PairingResult>;
  private resolveSettled: (result: PairingResult) => void = () => undefined;

  constructor(private readonly options: PairingSessionOptions) {
    super();
    this.nonce = options.nonce ?? randomBytes(PAIRING_NONCE_BYTES);
    this.expiresAt = options.clock.now() + options.timeoutMs;
    this.deadline = new Timer(options.clock, () => this.expire());
    this.settled = new Promise((resolve) => (this.resolveSettled = resolve));
  }

  get state(): PairingState {
    return this.current;
  }

  /** The verification code, once both nonces are known. */
  get code(): string | undefined {
    return this.verification;
  }

  get accepted(): { here: boolean; peer: boolean } {
    return { here: this.acceptedHere, peer: this.acceptedByPeer };
  }

  get outcome(): PairingResult | undefined {
    return this.result;
  }

  get isFinal(): boolean {
    return this.result !== undefined;
  }

  /** Arms the deadline; the responder opens the exchange with its commitment. */
  start(): void {
    this.deadline.set(this.options.timeoutMs);
    if (this.options.role === 'responder') {
      const commit = nonceCommitment(this.options.peerKey, this.options.ownKey, this.nonce);
      this.options.port.send(FrameType.pairCommit, { commit: commit.toString('base64'), trusted: this.options.trustsPeer });
    }
  }

  /** A frame from the peer. A violation closes the connection with its code and fails the pairing. */
  onFrame(frame: Frame): void {
    if (this.result !== undefined || this.current === 'completing') return;
    try {
      this.handle(frame);
    } catch (err) {
      const violation = err instanceof ProtocolViolation ? err : new ProtocolViolation(CloseCode.protocolError, 'internal error');
      this.finish({ outcome: 'failed', detail: violation.reason }, violation.closeCode, violation.reason);
    }
  }

  /** This side's user compared the codes and said yes. */
  accept(): void {
    if (this.current !== 'pending' || this.acceptedHere) return;
    this.acceptedHere = true;
    this.options.port.send(FrameType.pairAccept, {});
    this.emit('accepted');
    if (this.acceptedByPeer) void this.complete();
  }

  /** This side's user said no (or the codes differ): the peer learns it from the close code. */
  reject(): void {
    if (this.result !== undefined || this.current === 'completing') return;
    this.finish({ outcome: 'rejected', detail: 'rejected here', closeCode: CloseCode.pairingRejected }, CloseCode.pairingRejected, 'pairing rejected');
  }

  /** The pairing connection closed (either side). */
  onClose(code: number, reason: string, local: boolean): void {
    if (this.result !== undefined || this.current === 'completing') return;
    // A close this session chose has settled it already; any other local close is the
    // daemon's (stopping, a replaced request), and counts as a failure.
    if (local) this.settle({ outcome: 'failed', detail: `closed here: ${reason !== '' ? reason : describeCloseCode(code)}` });
    else if (code === CloseCode.pairingRejected) this.settle({ outcome: 'rejected', detail: 'rejected by the peer', closeCode: code });
    else if (code === CloseCode.pairingExpired) this.settle({ outcome: 'expired', detail: 'the peer let the request expire', closeCode: code });
    else this.settle({ outcome: 'failed', detail: `${describeCloseCode(code)}${reason !== '' ? `: ${reason}` : ''}`, closeCode: code });
  }

  private handle(frame: Frame): void {
    const h = frame.header;
    const initiator = this.options.role === 'initiator';
    switch (frame.type) {
      case FrameType.pairCommit: {
        if (!initiator || this.peerCommit !== undefined) throw malformed('PAIR_COMMIT out of place');
        this.peerCommit = field.bytes(h, 'commit', 32);
        const peerTrusts = boolean(h, 'trusted');
        this.options.port.send(FrameType.pairNonce, { nonce: this.nonce.toString('base64'), trusted: this.options.trustsPeer });
        if (peerTrusts && this.options.trustsPeer) this.finish({ outcome: 'already-paired' }, CloseCode.normal, ALREADY_PAIRED);
        return;
      }
      case FrameType.pairNonce: {
        if (initiator || this.verification !== undefined) throw malformed('PAIR_NONCE out of place');
        const peerNonce = field.bytes(h, 'nonce', PAIRING_NONCE_BYTES);
        if (boolean(h, 'trusted') && this.options.trustsPeer) {
          this.finish({ outcome: 'already-paired' }, CloseCode.normal, ALREADY_PAIRED);
          return;
        }
        this.options.port.send(FrameType.pairReveal, { nonce: this.nonce.toString('base64') });
        this.showCode(peerNonce);
        return;
      }
      case FrameType.pairReveal: {
        if (!initiator || this.peerCommit === undefined || this.verification !== undefined) throw malformed('PAIR_REVEAL out of place');
        const peerNonce = field.bytes(h, 'nonce', PAIRING_NONCE_BYTES);
        if (!nonceCommitment(this.options.ownKey, this.options.peerKey, peerNonce).equals(this.peerCommit)) {
          // Honest peers never do this: it is someone trying to steer the code.
          throw malformed('PAIR_REVEAL does not match the commitment');
        }
        this.showCode(peerNonce);
        return;
      }
      case FrameType.pairAccept: {
        if (this.current !== 'pending' || this.acceptedByPeer) throw malformed('PAIR_ACCEPT out of place');
        this.acceptedByPeer = true;
        this.emit('accepted');
        if (this.acceptedHere) void this.complete();
        return;
      }
      default:
        throw malformed('only pairing frames may travel on a pairing connection');
    }
  }

  private showCode(peerNonce: Buffer): void {
    this.verification = verificationCode({ key: this.options.ownKey, nonce: this.nonce }, { key: this.options.peerKey, nonce: peerNonce });
    this.current = 'pending';
    this.emit('code', this.verification);
  }

  /** Both said yes: trust first, then close, so "paired" is never reported before it is true. */
  private async complete(): Promise<void> {
    this.current = 'completing';
    this.deadline.clear();
    try {
      await this.options.port.trustPeer();
    } catch (err) {
      this.finish({ outcome: 'failed', detail: `could not trust the peer: ${messageOf(err)}` }, CloseCode.protocolError, 'internal error');
      return;
    }
    this.finish({ outcome: 'paired' }, CloseCode.normal, 'paired');
  }

  private expire(): void {
    if (this.result !== undefined || this.current === 'completing') return;
    const seconds = Math.round(this.options.timeoutMs / 1000);
    this.finish(
      { outcome: 'expired', detail: `not accepted by both sides within ${seconds} s`, closeCode: CloseCode.pairingExpired },
      CloseCode.pairingExpired,
      'pairing request expired',
    );
  }

  private finish(result: PairingResult, code: number, reason: string): void {
    if (this.result !== undefined) return;
    this.settle(result);
    this.options.port.close(code, reason);
  }

  private settle(result: PairingResult): void {
    if (this.result !== undefined) return;
    this.deadline.clear();
    this.result = result;
    this.current = result.outcome;
    this.nonce.fill(0);
    this.emit('settled', result);
    this.resolveSettled(result);
  }
}

function boolean(header: Record<string, unknown>, key: string): boolean {
  const v = header[key];
  if (typeof v !== 'boolean') throw malformed(`field "${key}" must be true or false`);
  return v;
}
