import type { Connection } from '../protocol/connection.js';
import type { DialTarget } from './dial-target.js';
import { listPeers, type UntrustedSighting } from './peer-list.js';
import type { PeerInfo } from './peer-types.js';

/** A peer known by its key: connected now, or seen before. */
export interface PeerRecord {
  fingerprint: string;
  name: string;
  address: string;
  state: 'connected' | 'disconnected' | 'refused';
  since: number;
  lastError: string | undefined;
  connection: Connection | undefined;
}

/** Refused inbound keys kept for `clipsync peers`, so a user sees who knocked. */
const MAX_REFUSED_RECORDS = 32;

/**
 * What this daemon knows of each key: one record per peer (its live connection, or how the
 * last one ended), the keys that knocked and were refused, and the untrusted keys mDNS saw.
 * It decides nothing: the peer manager writes it, `clipsync peers` reads it.
 */
export class PeerTable {
  private readonly byKey = new Map<string, PeerRecord>();
  /** Peers seen by mDNS whose keys are not trusted: listed (so the user can pair), never dialed. */
  private readonly untrustedSeen = new Map<string, UntrustedSighting>();

  /** The open connection to `fingerprint`, if there is one. */
  liveConnection(fingerprint: string | undefined): Connection | undefined {
    if (fingerprint === undefined) return undefined;
    const connection = this.byKey.get(fingerprint)?.connection;
    return connection?.isOpen === true ? connection : undefined;
  }

  hasLiveConnection(fingerprint: string | undefined): boolean {
    return this.liveConnection(fingerprint) !== undefined;
  }

  /** Every record, live: one added while a caller iterates is visited too. */
  records(): IterableIterator<PeerRecord> {
    return this.byKey.values();
  }

  /** Every connection the table holds, open or still closing. */
  connections(): Connection[] {
    const out: Connection[] = [];
    for (const record of this.byKey.values()) if (record.connection !== undefined) out.push(record.connection);
    return out;
  }

  connectedCount(): number {
    let n = 0;
    for (const record of this.byKey.values()) if (record.connection?.isOpen === true) n++;
    return n;
  }

  /** `connection` is now the one connection to its peer: creates or updates the peer's record. */
  connected(fingerprint: string, name: string, address: string, connection: Connection, now: number): PeerRecord {
    const fresh: PeerRecord = { fingerprint, name, address, state: 'connected', since: now, lastError: undefined, connection };
    const known = this.byKey.get(fingerprint);
    if (known === undefined) this.byKey.set(fingerprint, fresh);
    // The same record object is kept: a close handler of its earlier connection holds it.
    return known === undefined ? fresh : Object.assign(known, fresh);
  }

  /** The record's connection closed: it stays listed as disconnected or refused. */
  disconnected(record: PeerRecord, state: 'disconnected' | 'refused', lastError: string | undefined, now: number): void {
    record.connection = undefined;
    record.state = state;
    record.since = now;
    record.lastError = lastError;
  }

  /**
   * An inbound connection claiming `fingerprint` was refused as untrusted: list who knocked,
   * unless that key has a live connection (a stranger must not unlist it). Only the newest
   * MAX_REFUSED_RECORDS refusals are kept.
   */
  refusedInbound(fingerprint: string, name: string, address: string, reason: string, now: number): void {
    if (this.hasLiveConnection(fingerprint)) return;
    this.byKey.delete(fingerprint); // re-insert so the newest refusal is last
    this.byKey.set(fingerprint, { fingerprint, name, address, state: 'refused', since: now, lastError: reason, connection: undefined });
    const refused = [...this.byKey.values()].filter((r) => r.state === 'refused' && r.connection === undefined);
    for (const record of refused.slice(0, Math.max(0, refused.length - MAX_REFUSED_RECORDS))) this.byKey.delete(record.fingerprint);
  }

  /** An untrusted key seen by mDNS at `address`; `undefined` when it left the network. */
  noteUntrusted(fingerprint: string, name: string, address: string | undefined, now: number): void {
    if (address === undefined) {
      this.untrustedSeen.delete(fingerprint);
      return;
    }
    const known = this.untrustedSeen.get(fingerprint);
    this.untrustedSeen.set(fingerprint, { name, address, since: known?.since ?? now });
  }

  list(targets: readonly DialTarget[], now: number): PeerInfo[] {
    return listPeers(this.byKey, targets, this.untrustedSeen, now);
  }
}
