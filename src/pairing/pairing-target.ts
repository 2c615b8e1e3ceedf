import { fail } from '../core/errors.js';
import { UNSAFE_NAME_CHARS_GLOBAL } from '../discovery/txt-record.js';

/**
 * How `clipsync pair NAME|FP`, `--accept` and `--reject` pick one entry out of a list: an
 * exact fingerprint (with or without `SHA256:`) wins, else an exact name, which must be
 * unambiguous. Pure, so the rules are tested without a daemon.
 */
export function pickBySelector<T extends { fingerprint: string; name: string }>(items: readonly T[], selector: string): T | undefined {
  const wanted = selector.trim();
  const byFingerprint = items.find((i) => i.fingerprint === wanted || i.fingerprint === `SHA256:${wanted}`);
  if (byFingerprint !== undefined) return byFingerprint;
  const byName = items.filter((i) => i.name === wanted);
  // One key may be listed twice (an inbound and an outbound request): that is not ambiguous.
  if (new Set(byName.map((i) => i.fingerprint)).size > 1) {
    throw fail('CLIPSYNC_ERR_PAIRING', `more than one peer is called "${wanted}"`, {
      hint: `name it by fingerprint instead: ${byName.map((i) => i.fingerprint).join(', ')}`,
    });
  }
  return byName[0];
}

/** A `pair` argument that is an address rather than a name or fingerprint. */
export function isAddressSelector(selector: string): boolean {
  const s = selector.trim();
  return s.startsWith('tcp://') || s.startsWith('unix:');
}

/**
 * The name a stranger announced, made safe to print beside a verification code and to store
 * in trusted_keys: a name with escape sequences could otherwise redraw the code on screen.
 * Unsafe means what mDNS refuses in device names (controls, bidi overrides and marks).
 */
export function safePeerName(name: string): string {
  return name.replace(/\s+/g, ' ').replace(UNSAFE_NAME_CHARS_GLOBAL, '?').trim();
}
