import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame, type Frame, type FrameTypeValue } from '../../../src/wire/frame.js';
import { PairingSession, type PairingPort } from '../../../src/pairing/pairing-session.js';
import { FakeClock } from '../_support/fake-clock.js';

const TIMEOUT_MS = 120_000;
const keyA = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'base64');
const keyB = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIBEREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREQ==', 'base64');

interface Side {
  session: PairingSession;
  sent: Frame[];
  closed: { code: number; reason: string } | undefined;
  trustCalls: number;
}

/**
 * Two sessions joined by an in-memory "connection": frames are encoded and decoded as on the
 * wire and delivered only on flush(), so a test decides exactly what has arrived when. A close
 * reaches the closing side at once (as Connection does) and the other side on flush.
 */
class Link {
  readonly clock = new FakeClock();
  readonly initiator: Side;
  readonly responder: Side;
  private queue: (() => void)[] = [];
  /** Lets a test change or drop a frame in flight. */
  tamper: ((frame: Frame, to: 'initiator' | 'responder') => Frame | undefined) | undefined;
  trust: (side: 'initiator' | 'responder') => Promise<void> = async () => undefined;

  constructor(options: { initiatorTrusts?: boolean; responderTrusts?: boolean; timeoutMs?: { initiator?: number; responder?: number } } = {}) {
    this.initiator = this.side('initiator', options.initiatorTrusts ?? false, options.timeoutMs?.initiator ?? TIMEOUT_MS);
    this.responder = this.side('responder', options.responderTrusts ?? false, options.timeoutMs?.responder ?? TIMEOUT_MS);
  }

  start(): void {
    this.initiator.session.start();
    this.responder.session.start();
  }

  /** Delivers everything in flight, and what that causes, until quiet. */
  async flush(): Promise<void> {
    for (let i = 0; i < 100 && this.queue.length > 0; i++) {
      const work = this.queue.splice(0);
      for (const deliver of work) deliver();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }

  private side(role: 'initiator' | 'responder', trustsPeer: boolean, timeoutMs: number): Side {
    const other = (): Side => (role === 'initiator' ? this.responder : this.initiator);
    const peerRole = role === 'initiator' ? 'responder' : 'initiator';
    const port: PairingPort = {
      send: (type: FrameTypeValue, header: object) => {
        if (side.closed !== undefined) return;
        const frame = decodeFrame(encodeFrame(type, header));
        side.sent.push(frame);
        this.queue.push(() => {
          if (side.closed !== undefined && other().closed !== undefined) return;
          const arriving = this.tamper === undefined ? frame : this.tamper(frame, peerRole);
          if (arriving !== undefined && other().closed === undefined) other().session.onFrame(arriving);
        });
      },
      close: (code, reason) => {
        if (side.closed !== undefined || other().closed !== undefined) return;
        side.closed = { code, reason };
        side.session.onClose(code, reason, true);
        this.queue.push(() => other().session.onClose(code, reason, false));
      },
      trustPeer: async () => {
        side.trustCalls++;
        await this.trust(role);
      },
    };
    const side: Side = {
      session: new PairingSession({
        role,
        ownKey: role === 'initiator' ? keyA : keyB,
        peerKey: role === 'initiator' ? keyB : keyA,
        trustsPeer,
        timeoutMs,
        clock: this.clock,
        port,
      }),
      sent: [],
      closed: undefined,
      trustCalls: 0,
    };
    return side;
  }
}

async function toCode(link: Link): Promise<string> {
  link.start();
  await link.flush();
  const code = link.initiator.session.code;
  expect(code).toMatch(/^\d{6}$/);
  expect(link.responder.session.code).toBe(code);
  expect(link.initiator.session.state).toBe('pending');
  expect(link.responder.session.state).toBe('pending');
  return code!;
}

/** Both sides reach the code and accept it at once. */
async function bothAccept(link: Link): Promise<void> {
  await toCode(link);
  link.initiator.session.accept();
  link.responder.session.accept();
  await link.flush();
}

describe('PairingSession', () => {
  it('swaps commit, nonce and reveal, then both sides show the same code', async () => {
    const link = new Link();
    const codes: string[] = [];
    link.initiator.session.on('code', (c) => codes.push(c));
    link.responder.session.on('code', (c) => codes.push(c));
    link.start();
    expect(link.initiator.session.code).toBeUndefined();
    await link.flush();
    expect(codes).toHaveLength(2);
    expect(codes[0]).toBe(codes[1]);
    expect(link.responder.sent.map((f) => f.type)).toEqual([FrameType.pairCommit, FrameType.pairReveal]);
    expect(link.initiator.sent.map((f) => f.type)).toEqual([FrameType.pairNonce]);
    // The commitment goes out before the responder has seen the initiator's nonce.
    expect(link.responder.sent[0]!.header).toEqual({ commit: expect.any(String), trusted: false });
  });

  it.each([
    ['the responder first', ['responder', 'initiator']],
    ['the initiator first', ['initiator', 'responder']],
  ] as const)('pairs when both accept, %s; each trusts the peer once, then closes with 1000', async (_label, order) => {
    const link = new Link();
    await toCode(link);
    link[order[0]].session.accept();
    await link.flush();
    expect(link[order[0]].session.state).toBe('pending');
    expect(link[order[1]].session.accepted).toEqual({ here: false, peer: true });
    expect(link.initiator.trustCalls + link.responder.trustCalls).toBe(0);
    link[order[1]].session.accept();
    await link.flush();
    for (const side of [link.initiator, link.responder]) {
      expect(side.session.outcome).toEqual({ outcome: 'paired' });
      expect(side.trustCalls).toBe(1);
    }
    // The side that accepted last completes first and closes; the other only sees the close.
    expect(link[order[1]].closed).toEqual({ code: CloseCode.normal, reason: 'paired' });
  });

  it('pairs when both accept at the same moment', async () => {
    const link = new Link();
    await bothAccept(link);
    expect(link.initiator.session.state).toBe('paired');
    expect(link.responder.session.state).toBe('paired');
  });

  it('reports paired only once the trust write finished, even if the peer closed meanwhile', async () => {
    const link = new Link();
    let release: () => void = () => undefined;
    link.trust = (side) => (side === 'responder' ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve());
    await toCode(link);
    link.initiator.session.accept();
    await link.flush();
    link.responder.session.accept(); // the responder completes first and is slow to write trust
    await link.flush();
    expect(link.initiator.session.state).toBe('paired');
    expect(link.initiator.closed?.code).toBe(CloseCode.normal);
    expect(link.responder.session.state).toBe('completing');
    release();
    await link.flush();
    expect(link.responder.session.outcome).toEqual({ outcome: 'paired' });
  });

  it('a rejection closes with 4012 on both sides and trusts nothing', async () => {
    const link = new Link();
    await toCode(link);
    link.initiator.session.accept();
    await link.flush();
    link.responder.session.reject();
    await link.flush();
    expect(link.responder.closed).toEqual({ code: CloseCode.pairingRejected, reason: 'pairing rejected' });
    expect(link.responder.session.outcome).toMatchObject({ outcome: 'rejected', closeCode: 4012, detail: 'rejected here' });
    expect(link.initiator.session.outcome).toMatchObject({ outcome: 'rejected', closeCode: 4012, detail: 'rejected by the peer' });
    expect(link.initiator.trustCalls + link.responder.trustCalls).toBe(0);
    link.initiator.session.accept(); // too late: nothing happens
    expect(link.initiator.session.state).toBe('rejected');
  });

  it('expires on the injected clock with 4011, accepted on one side or not, and trusts nothing', async () => {
    const link = new Link();
    await toCode(link);
    expect(link.initiator.session.expiresAt).toBe(link.clock.now() + TIMEOUT_MS);
    link.responder.session.accept();
    await link.flush();
    await link.clock.advance(TIMEOUT_MS - 1, () => link.flush());
    expect(link.initiator.session.state).toBe('pending');
    await link.clock.advance(1, () => link.flush());
    for (const side of [link.initiator, link.responder]) {
      expect(side.session.outcome).toMatchObject({ outcome: 'expired', closeCode: CloseCode.pairingExpired });
      expect(side.trustCalls).toBe(0);
    }
    expect(link.initiator.closed?.code ?? link.responder.closed?.code).toBe(4011);
    expect(link.clock.pendingTimers).toBe(0);
  });

  it('the side with the shorter timeout ends it for both', async () => {
    const link = new Link({ timeoutMs: { responder: 5_000 } });
    await toCode(link);
    await link.clock.advance(5_000, () => link.flush());
    expect(link.responder.closed).toEqual({ code: 4011, reason: 'pairing request expired' });
    expect(link.initiator.session.outcome).toMatchObject({ outcome: 'expired', detail: 'the peer let the request expire' });
  });

  it('expires while the nonces are still being swapped too', async () => {
    const link = new Link();
    link.tamper = () => undefined; // nothing ever arrives
    link.start();
    await link.clock.advance(TIMEOUT_MS, () => link.flush());
    expect(link.initiator.session.state).toBe('expired');
    expect(link.responder.session.state).toBe('expired');
  });

  it('does not expire once both accepted', async () => {
    const link = new Link();
    await bothAccept(link);
    await link.clock.advance(TIMEOUT_MS * 2, () => link.flush());
    expect(link.initiator.session.state).toBe('paired');
  });

  it('ends as already-paired with 1000 when both sides already trust each other', async () => {
    const link = new Link({ initiatorTrusts: true, responderTrusts: true });
    link.start();
    await link.flush();
    for (const side of [link.initiator, link.responder]) {
      expect(side.session.outcome).toEqual({ outcome: 'already-paired' });
      expect(side.session.code).toBeUndefined();
      expect(side.trustCalls).toBe(0);
    }
    expect(link.initiator.closed ?? link.responder.closed).toEqual({ code: 1000, reason: 'already paired' });
  });

  it('still pairs when only one side trusts the other (so the other can catch up)', async () => {
    const link = new Link({ responderTrusts: true });
    await bothAccept(link);
    expect(link.initiator.session.state).toBe('paired');
    expect(link.responder.session.state).toBe('paired');
  });

  it('fails with 4005 when the reveal does not match the commitment', async () => {
    const link = new Link();
    link.tamper = (frame) =>
      frame.type === FrameType.pairReveal ? { ...frame, header: { nonce: Buffer.alloc(32, 9).toString('base64') } } : frame;
    link.start();
    await link.flush();
    expect(link.initiator.closed).toEqual({ code: CloseCode.malformedFrame, reason: 'PAIR_REVEAL does not match the commitment' });
    expect(link.initiator.session.state).toBe('failed');
    expect(link.initiator.session.code).toBeUndefined();
    expect(link.responder.session.state).toBe('failed');
  });

  it.each([
    ['a clip frame', FrameType.offer, { id: 'a'.repeat(64), mime: 'text/plain', size: 1, ts: 1, origin: 'x' }],
    ['a second PAIR_COMMIT', FrameType.pairCommit, { commit: Buffer.alloc(32).toString('base64'), trusted: false }],
    ['a PAIR_NONCE sent to the initiator', FrameType.pairNonce, { nonce: Buffer.alloc(32).toString('base64'), trusted: false }],
  ] as const)('closes with 4005 on %s', async (_label, type, header) => {
    const link = new Link();
    await toCode(link);
    link.initiator.session.onFrame(decodeFrame(encodeFrame(type, header)));
    expect(link.initiator.closed?.code).toBe(CloseCode.malformedFrame);
    expect(link.initiator.session.state).toBe('failed');
    await link.flush();
    expect(link.responder.session.outcome).toMatchObject({ outcome: 'failed', closeCode: CloseCode.malformedFrame });
  });

  it('closes with 4005 on a PAIR_ACCEPT before the code is known', () => {
    const link = new Link();
    link.initiator.session.start();
    link.initiator.session.onFrame(decodeFrame(encodeFrame(FrameType.pairAccept, {})));
    expect(link.initiator.closed).toEqual({ code: CloseCode.malformedFrame, reason: 'PAIR_ACCEPT out of place' });
  });

  it('a trusted write that fails ends in failed with 4000, not paired', async () => {
    const link = new Link();
    link.trust = async (side) => {
      if (side === 'initiator') throw new Error('disk full');
    };
    await toCode(link);
    link.responder.session.accept();
    await link.flush();
    link.initiator.session.accept();
    await link.flush();
    expect(link.initiator.session.outcome).toMatchObject({ outcome: 'failed', detail: 'could not trust the peer: disk full' });
    expect(link.initiator.closed?.code).toBe(CloseCode.protocolError);
  });

  it('a connection lost while pending fails the pairing with the close code', async () => {
    const link = new Link();
    await toCode(link);
    link.responder.session.onClose(1001, 'peer is shutting down', false);
    expect(link.responder.session.outcome).toEqual({ outcome: 'failed', detail: 'peer is shutting down: peer is shutting down', closeCode: 1001 });
    link.initiator.session.onClose(1001, 'peer is shutting down', true);
    expect(link.initiator.session.outcome).toMatchObject({ outcome: 'failed', detail: 'closed here: peer is shutting down' });
  });

  it('settled resolves once with the outcome', async () => {
    const link = new Link();
    await toCode(link);
    link.initiator.session.reject();
    await expect(link.initiator.session.settled).resolves.toMatchObject({ outcome: 'rejected' });
    await link.flush();
    await expect(link.responder.session.settled).resolves.toMatchObject({ outcome: 'rejected' });
  });
});
