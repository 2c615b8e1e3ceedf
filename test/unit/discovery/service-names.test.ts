import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../src/identity/public-key.js';
import { diffPeers, type DiscoveredPeer } from '../../../src/discovery/discovered-peer.js';
import { dnsKey, fingerprintTag, hostName, instanceLabel, instanceName, isInstanceOfService } from '../../../src/discovery/service-names.js';

const fp = fingerprintOf(Buffer.from('a key blob'));

describe('service names', () => {
  it('tag the key with 48 bits of its hash, in hex', () => {
    expect(fingerprintTag(fp)).toBe(Buffer.from(fp.slice(7), 'base64').subarray(0, 6).toString('hex'));
    expect(hostName(fp)).toBe(`clipsync-${fingerprintTag(fp)}.local`);
    expect(instanceName('laptop', fp)).toBe(`laptop-${fingerprintTag(fp)}._clipsync._tcp.local`);
  });

  it('keep the instance label to one DNS label (≤ 63 bytes, no dots)', () => {
    for (const name of ['my.host.example.com', 'back\\slash', 'ü'.repeat(80), '']) {
      const label = instanceLabel(name, fp);
      expect(Buffer.byteLength(label)).toBeLessThanOrEqual(63);
      expect(label).not.toMatch(/[.\\]/);
      expect(label.endsWith(`-${fingerprintTag(fp)}`)).toBe(true);
    }
    expect(instanceLabel('', fp)).toBe(`clipsync-${fingerprintTag(fp)}`);
  });

  it('different keys give different names', () => {
    const tags = new Set(Array.from({ length: 200 }, () => fingerprintTag(fingerprintOf(randomBytes(32)))));
    expect(tags.size).toBe(200);
  });

  it('compare names case-insensitively and without a trailing dot', () => {
    expect(dnsKey('Box._CLIPSYNC._tcp.local.')).toBe('box._clipsync._tcp.local');
    expect(isInstanceOfService('Box._CLIPSYNC._tcp.local.')).toBe(true);
    expect(isInstanceOfService('_clipsync._tcp.local')).toBe(false);
    expect(isInstanceOfService('web._http._tcp.local')).toBe(false);
  });
});

describe('diffPeers', () => {
  const peer = (over: Partial<DiscoveredPeer> = {}): DiscoveredPeer => ({
    fingerprint: fp,
    name: 'box',
    version: 1,
    addresses: ['10.0.0.1'],
    port: 1,
    txt: { v: '1' },
    instance: 'i',
    host: 'h',
    ...over,
  });

  it('reports up, update (only on a real change) and down with the reason given', () => {
    const one = new Map([[fp, peer()]]);
    expect(diffPeers(new Map(), one, 'goodbye')).toEqual([{ type: 'up', peer: peer() }]);
    expect(diffPeers(one, new Map([[fp, peer()]]), 'goodbye')).toEqual([]);
    expect(diffPeers(one, new Map([[fp, peer({ addresses: ['10.0.0.2'] })]]), 'goodbye')).toEqual([{ type: 'update', peer: peer({ addresses: ['10.0.0.2'] }), previous: peer() }]);
    expect(diffPeers(one, new Map([[fp, peer({ txt: { v: '1', extra: 'x' } })]]), 'goodbye')).toHaveLength(1);
    expect(diffPeers(one, new Map(), 'expired')).toEqual([{ type: 'down', peer: peer(), reason: 'expired' }]);
  });
});
