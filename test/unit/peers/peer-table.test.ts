import { describe, expect, it } from 'vitest';
import { PeerTable } from '../../../src/peers/peer-table.js';
import type { Connection } from '../../../src/protocol/connection.js';

/** The table alone: what `clipsync peers` lists for records, refusals and mDNS sightings. */

const T0 = 1_700_000_000_000;

function connection(open = true, role: 'initiator' | 'responder' = 'initiator'): Connection & { isOpen: boolean } {
  return { isOpen: open, role, rttMs: 7 } as unknown as Connection & { isOpen: boolean };
}

describe('PeerTable', () => {
  it('lists a live connection as connected, and how it ended once it closed', () => {
    const table = new PeerTable();
    const c = connection(true, 'responder');
    const record = table.connected('SHA256:p', 'laptop', 'unix:/tmp/x.sock', c, T0);
    expect(table.hasLiveConnection('SHA256:p')).toBe(true);
    expect(table.connectedCount()).toBe(1);
    expect(table.list([], T0)).toEqual([
      {
        fingerprint: 'SHA256:p',
        name: 'laptop',
        address: 'unix:/tmp/x.sock',
        state: 'connected',
        since: new Date(T0).toISOString(),
        direction: 'inbound',
        attempt: 0,
        nextRetryMs: null,
        lastError: null,
        rttMs: 7,
        discovered: false,
      },
    ]);
    c.isOpen = false;
    table.disconnected(record, 'disconnected', 'heartbeat timeout', T0 + 5);
    expect(table.connectedCount()).toBe(0);
    expect(table.connections()).toEqual([]);
    expect(table.list([], T0 + 5)[0]).toMatchObject({ state: 'disconnected', direction: null, lastError: 'heartbeat timeout', rttMs: null });
  });

  it(`keeps the newest refusals only, and never lets a refusal unlist a live peer`, () => {
    const table = new PeerTable();
    table.connected('SHA256:live', 'desk', 'unix:/tmp/d.sock', connection(), T0);
    for (let i = 0; i < 40; i++) table.refusedInbound(`SHA256:k${i}`, `knocker ${i}`, 'unix:/tmp/l.sock', 'key not trusted', T0 + i);
    table.refusedInbound('SHA256:live', 'impostor', 'unix:/tmp/l.sock', 'key not trusted', T0);
    const rows = table.list([], T0 + 40);
    expect(rows[0]).toMatchObject({ fingerprint: 'SHA256:live', state: 'connected', name: 'desk' });
    const refused = rows.filter((r) => r.state === 'refused');
    expect(refused).toHaveLength(32);
    expect(refused[0]!.fingerprint).toBe('SHA256:k8');
    expect(refused.at(-1)).toMatchObject({ fingerprint: 'SHA256:k39', lastError: 'key not trusted' });
  });

  it('lists an untrusted key seen by mDNS since it was first seen, until it leaves', () => {
    const table = new PeerTable();
    table.noteUntrusted('SHA256:u', 'stranger', 'tcp://10.0.0.9:25470', T0);
    table.noteUntrusted('SHA256:u', 'stranger', 'tcp://10.0.0.9:25471', T0 + 1000);
    expect(table.list([], T0 + 2000)).toEqual([
      expect.objectContaining({ fingerprint: 'SHA256:u', state: 'untrusted', address: 'tcp://10.0.0.9:25471', since: new Date(T0).toISOString(), discovered: true }),
    ]);
    table.noteUntrusted('SHA256:u', 'stranger', undefined, T0 + 3000);
    expect(table.list([], T0 + 3000)).toEqual([]);
  });
});
