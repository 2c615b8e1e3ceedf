import { expect } from 'vitest';
import type { Identity } from '../../../src/identity/identity.js';
import type { PublicKey } from '../../../src/identity/public-key.js';
import { ProtocolViolation, type CloseCodeValue } from '../../../src/wire/close-codes.js';
import { FrameType, decodeFrame, encodeFrame } from '../../../src/wire/frame.js';
import { Handshake, type HandshakeResult, type Role } from '../../../src/secure/handshake.js';
import { caught } from './keys.js';

/** Unit-test support: drive two in-memory Handshake state machines against each other. */

/** Trust by fingerprint; the map value is the name the trust store gives the key. */
export function trusting(entries: [Identity, string][]): (key: PublicKey) => Promise<{ name: string } | undefined> {
  const byFingerprint = new Map(entries.map(([id, name]) => [id.publicKey.fingerprint, { name }]));
  return async (key) => byFingerprint.get(key.fingerprint);
}

export function side(role: Role, identity: Identity, name: string, trusts: [Identity, string][]): Handshake {
  return new Handshake({ role, identity, name, checkTrust: trusting(trusts) });
}

/** A mutual-trust pair: `a` initiates, `b` responds. */
export function pair(
  a: Identity,
  b: Identity,
  names = { a: 'alpha', b: 'beta' },
): { initiator: Handshake; responder: Handshake } {
  return {
    initiator: side('initiator', a, names.a, [[b, '']]),
    responder: side('responder', b, names.b, [[a, '']]),
  };
}

export interface Pumped {
  initiator: HandshakeResult;
  responder: HandshakeResult;
  /** Every message each side sent, in order (HELLO first, then AUTH). */
  sentByInitiator: Buffer[];
  sentByResponder: Buffer[];
}

/** Runs both sides to completion, delivering each side's output to the other. */
export async function pump(
  initiator: Handshake,
  responder: Handshake,
  /** Lets a test change a message in flight. */
  tamper: { toInitiator?: (m: Buffer) => Buffer; toResponder?: (m: Buffer) => Buffer } = {},
): Promise<Pumped> {
  const sentByInitiator = [initiator.hello()];
  const sentByResponder = [responder.hello()];
  const toInitiator = [...sentByResponder];
  const toResponder = [...sentByInitiator];
  let initiatorResult: HandshakeResult | undefined;
  let responderResult: HandshakeResult | undefined;
  for (let rounds = 0; rounds < 10 && (initiatorResult === undefined || responderResult === undefined); rounds++) {
    const forInitiator = toInitiator.splice(0);
    const forResponder = toResponder.splice(0);
    for (const message of forInitiator) {
      const step = await initiator.receive(tamper.toInitiator?.(message) ?? message);
      sentByInitiator.push(...step.send);
      toResponder.push(...step.send);
      initiatorResult ??= step.result;
    }
    for (const message of forResponder) {
      const step = await responder.receive(tamper.toResponder?.(message) ?? message);
      sentByResponder.push(...step.send);
      toInitiator.push(...step.send);
      responderResult ??= step.result;
    }
  }
  if (initiatorResult === undefined || responderResult === undefined) throw new Error('handshake did not finish');
  return { initiator: initiatorResult, responder: responderResult, sentByInitiator, sentByResponder };
}

/** A fresh mutual-trust pair, run to completion. */
export function pumpPair(a: Identity, b: Identity): Promise<Pumped> {
  const { initiator, responder } = pair(a, b);
  return pump(initiator, responder);
}

export async function expectViolation(promise: () => unknown, closeCode: CloseCodeValue): Promise<ProtocolViolation> {
  const err = await caught(promise);
  expect(err).toBeInstanceOf(ProtocolViolation);
  expect((err as ProtocolViolation).closeCode).toBe(closeCode);
  return err as ProtocolViolation;
}

/** Decodes a handshake frame, changes its header, and encodes it again with the same type. */
export function editFrame(message: Buffer, edit: (header: Record<string, unknown>) => void): Buffer {
  const frame = decodeFrame(message);
  const header = { ...frame.header };
  edit(header);
  return encodeFrame(frame.type, header, frame.body);
}

/** Decodes a HELLO, changes its header, and encodes it again. */
export function editHello(hello: Buffer, edit: (header: Record<string, unknown>) => void): Buffer {
  const frame = decodeFrame(hello);
  expect(frame.type).toBe(FrameType.hello);
  return editFrame(hello, edit);
}
