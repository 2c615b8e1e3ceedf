import { describe, expect, it } from 'vitest';
import { splitSignature } from '../../../src/cli/tray/dbus-object.js';
import { ICON_NAMES, iconPixmap } from '../../../src/cli/tray/icons.js';
import { buildMenu, findItem, trayState, type MenuItem, type TrayState } from '../../../src/cli/tray/menu-model.js';
import type { StatusResponse } from '../../../src/ipc/schema.js';

const status = (over: Partial<StatusResponse> = {}): StatusResponse =>
  ({ peers: { connected: 2, known: 2 }, transfers: 0, pairingPending: 0, paused: null, clip: null, ...over }) as StatusResponse;
const labels = (menu: MenuItem): (string | undefined)[] => (menu.children ?? []).map((i) => (i.type === 'separator' ? '---' : i.label));

describe('tray menu', () => {
  it('says the daemon is not running, and offers only the log and quit', () => {
    const menu = buildMenu({ status: null, history: [], pairing: [] });
    expect(labels(menu)).toEqual(['clipsync is not running', '---', 'Open log', 'Quit tray']);
    expect(trayState({ status: null, history: [], pairing: [] })).toBe('error');
  });

  it('lists peers, recent clips (underscores kept), pause, a pairing request to accept', () => {
    const state: TrayState = {
      status: status({ pairingPending: 1 }),
      history: [{ n: 1, id: 'a', mime: 'text/plain', formats: [], size: 5, ts: 0, origin: 'x', originName: null, local: true, preview: 'snake_case', copiedAt: '' }],
      pairing: [{ fingerprint: 'SHA256:l', name: 'laptop', address: 'tcp://x', direction: 'inbound', state: 'pending', code: '123456', acceptedHere: false, acceptedByPeer: false, expiresInSec: 60, detail: null }],
    };
    const menu = buildMenu(state);
    expect(labels(menu)).toEqual(['2 peers connected', '---', 'Pair with laptop? Code 123456', 'Accept (the codes match)', 'Reject', '---', 'Recent clips', '---', 'Pause sync', 'Pause for 1 hour', '---', 'Open log', 'Quit tray']);
    const clips = menu.children!.find((i) => i.label === 'Recent clips')!;
    expect(clips.children![0]).toMatchObject({ label: 'snake__case', action: { kind: 'history-get', n: 1 } });
    const accept = menu.children!.find((i) => i.label === 'Accept (the codes match)')!;
    expect(findItem(menu, accept.id)?.action).toEqual({ kind: 'accept', peer: 'SHA256:l' });
    expect(buildMenu(state)).toEqual(menu); // the same state, the same menu: no needless LayoutUpdated
  });

  it('shows a pause with its end, and Resume', () => {
    const until = new Date(Date.UTC(2026, 0, 1, 12, 30)).toISOString();
    const menu = buildMenu({ status: status({ paused: { since: until, until } }), history: [], pairing: [] });
    expect(labels(menu)).toContain('Resume sync');
    expect(labels(menu).some((l) => l?.startsWith('Paused until '))).toBe(true);
    expect(trayState({ status: status({ paused: { since: until, until: null } }), history: [], pairing: [] })).toBe('paused');
  });

  it('picks an icon per state, and draws it as ARGB32 with a transparent corner', () => {
    expect(trayState({ status: status({ transfers: 1 }), history: [], pairing: [] })).toBe('transferring');
    expect(trayState({ status: status({ peers: { connected: 0, known: 1 } }), history: [], pairing: [] })).toBe('no-peers');
    expect(ICON_NAMES['no-peers']).toBe('network-offline');
    const [w, h, data] = iconPixmap('idle', 22);
    expect([w, h, data.length]).toEqual([22, 22, 22 * 22 * 4]);
    expect(data[0]).toBe(0); // corner: alpha 0
    const centre = (11 * 22 + 11) * 4;
    expect([...data.subarray(centre, centre + 4)]).toEqual([255, 0x2e, 0x9e, 0x5b]);
  });

  it('splits D-Bus signatures into complete types for introspection', () => {
    expect(splitSignature('ia{sv}av')).toEqual(['i', 'a{sv}', 'av']);
    expect(splitSignature('u(ia{sv}av)')).toEqual(['u', '(ia{sv}av)']);
    expect(splitSignature('')).toEqual([]);
  });
});
