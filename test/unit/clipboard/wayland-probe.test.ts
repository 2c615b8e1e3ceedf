import { describe, expect, it } from 'vitest';
import { decideWayland, type WaylandFacts } from '../../../src/clipboard/wayland/probe.js';

const base: WaylandFacts = { waylandDisplay: 'wayland-1', missingTools: [] };

describe('decideWayland', () => {
  it('is not Wayland without WAYLAND_DISPLAY (unset or empty)', () => {
    expect(decideWayland({ ...base, waylandDisplay: undefined })).toEqual({ ok: false, reason: expect.stringContaining('WAYLAND_DISPLAY') });
    expect(decideWayland({ ...base, waylandDisplay: '', missingTools: ['wl-paste'] }).ok).toBe(false);
    expect(decideWayland({ ...base, waylandDisplay: '' }).reason).toMatch(/not a Wayland session/);
  });

  it('names missing tools and the package to install', () => {
    const d = decideWayland({ ...base, missingTools: ['wl-paste', 'wl-copy'] });
    expect(d).toEqual({
      ok: false,
      reason: 'wl-paste and wl-copy not found on PATH',
      hint: 'install wl-clipboard (apt-get install wl-clipboard)',
    });
  });

  it('accepts a compositor where wl-paste watched through data-control', () => {
    const d = decideWayland({ ...base, watch: { outcome: 'data-control' } });
    expect(d.ok).toBe(true);
    expect(d.reason).toMatch(/data-control/);
  });

  it('refuses a compositor without data-control (GNOME), pointing at XWayland', () => {
    for (const stderr of [
      'Watch mode requires a compositor that supports wlroots data-control protocol\n',
      // wl-clipboard 2.3's wording mentions both protocols; the build-time variant too.
      'Watch mode requires a compositor that supports the wlroots or ext data-control protocol\n',
      'wl-clipboard was built without wlroots data-control protocol support\n',
    ]) {
      const d = decideWayland({ ...base, watch: { outcome: 'exited', code: 1, stderr } });
      expect(d.ok).toBe(false);
      expect(d.reason).toMatch(/no data-control protocol/);
      expect(d).toHaveProperty('hint', expect.stringMatching(/XWayland/));
    }
  });

  it('says when the compositor cannot be reached, or wl-paste hung or failed otherwise', () => {
    expect(decideWayland({ ...base, watch: { outcome: 'exited', code: 1, stderr: 'Failed to connect to a Wayland server\n' } }).reason).toBe(
      'cannot connect to the Wayland compositor at wayland-1',
    );
    expect(decideWayland({ ...base, watch: { outcome: 'timeout', ms: 3000 } }).reason).toMatch(/within 3000 ms/);
    const other = decideWayland({ ...base, watch: { outcome: 'exited', code: 1, stderr: '[123.456] wl_display@1.x()\nNo such seat\n' } });
    expect(other).toEqual({ ok: false, reason: 'wl-paste --watch exited (1): No such seat' });
  });

  it('does not claim success when nothing was probed', () => {
    expect(decideWayland(base).ok).toBe(false);
  });
});
