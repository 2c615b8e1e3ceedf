/**
 * WebSocket close codes clipsync sends. 4000–4999 are reserved for applications by RFC 6455;
 * these values are part of the protocol (docs/PROTOCOL.md) and never change meaning.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** Too many connections in the handshake, or too many pairing requests pending. */
  tryAgainLater: 1013,
  protocolError: 4000,
  untrusted: 4001,
  badSignature: 4002,
  unsupportedVersion: 4003,
  handshakeTimeout: 4004,
  malformedFrame: 4005,
  selfConnection: 4006,
  duplicate: 4007,
  decryptFailed: 4008,
  notAuthenticated: 4009,
  heartbeatTimeout: 4010,
  /** A pairing connection whose request was not accepted by both sides in time. */
  pairingExpired: 4011,
  /** A pairing connection whose request one side rejected (the codes did not match). */
  pairingRejected: 4012,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes after which redialing at once would only be refused again. */
export function isRefusal(code: number): boolean {
  return (
    code === CloseCode.untrusted ||
    code === CloseCode.badSignature ||
    code === CloseCode.unsupportedVersion ||
    code === CloseCode.selfConnection
  );
}

export function describeCloseCode(code: number): string {
  switch (code) {
    case CloseCode.normal:
      return 'closed';
    case CloseCode.goingAway:
      return 'peer is shutting down';
    case CloseCode.protocolError:
      return 'protocol error';
    case CloseCode.untrusted:
      return 'key not trusted';
    case CloseCode.badSignature:
      return 'bad handshake signature';
    case CloseCode.unsupportedVersion:
      return 'unsupported protocol version';
    case CloseCode.handshakeTimeout:
      return 'handshake took too long';
    case CloseCode.malformedFrame:
      return 'malformed frame';
    case CloseCode.selfConnection:
      return 'connected to itself';
    case CloseCode.duplicate:
      return 'duplicate connection';
    case CloseCode.decryptFailed:
      return 'frame failed to decrypt';
    case CloseCode.notAuthenticated:
      return 'frame before authentication';
    case CloseCode.heartbeatTimeout:
      return 'peer stopped answering heartbeats';
    case CloseCode.tryAgainLater:
      return 'busy; try again later';
    case CloseCode.pairingExpired:
      return 'pairing request expired';
    case CloseCode.pairingRejected:
      return 'pairing request rejected';
    case 1009:
      return 'message over the size limit';
    default:
      return `closed with code ${code}`;
  }
}

/** Raised when a connection must close; carries the code and a reason the other side shows. */
export class ProtocolViolation extends Error {
  constructor(
    readonly closeCode: CloseCodeValue,
    readonly reason: string,
    /** The peer closed with this code (a refusal of our key, say), rather than this side. */
    readonly byPeer = false,
  ) {
    super(reason);
    this.name = 'ProtocolViolation';
  }
}
