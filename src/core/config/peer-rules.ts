/**
 * Per-peer rules (config `peerRules`), keyed by a peer's trust-store name or its `SHA256:`
 * fingerprint: whether clips go to it (`send`), whether clips from it are applied
 * (`receive`), which formats travel either way (`formats`, globs such as `text/*`) and the
 * largest clip either way (`maxBytes`). Every field is optional; a missing one allows.
 */
export interface PeerRule {
  send?: boolean;
  receive?: boolean;
  formats?: string[];
  maxBytes?: number;
}

export type PeerRules = Record<string, PeerRule>;

/** A peer's rules with the defaults filled in, as `peers --json` shows them under `rules`. */
export interface EffectiveRules {
  send: boolean;
  receive: boolean;
  /** null: every format. */
  formats: string[] | null;
  /** null: no cap beyond maxClipBytes. */
  maxBytes: number | null;
  /** The `peerRules` key that matched (fingerprint or name), or null when none did. */
  matched: string | null;
}

/**
 * The rules of one peer: its fingerprint's entry if there is one, else its trust-store
 * name's. Entries are not merged: the fingerprint one is the more specific and wins whole.
 */
export function rulesFor(rules: PeerRules, fingerprint: string | null, name: string | null | undefined): EffectiveRules {
  const key =
    fingerprint !== null && Object.hasOwn(rules, fingerprint) ? fingerprint : name !== null && name !== undefined && name !== '' && Object.hasOwn(rules, name) ? name : null;
  const rule = key === null ? {} : rules[key]!;
  return { send: rule.send ?? true, receive: rule.receive ?? true, formats: rule.formats ?? null, maxBytes: rule.maxBytes ?? null, matched: key };
}

/** Whether a media type matches one of `globs`: `text/*`, `image/png`, `*` (parameters such as `;charset=` are ignored). */
export function formatAllowed(globs: readonly string[] | null, mime: string): boolean {
  if (globs === null) return true;
  const base = mime.split(';', 1)[0]!.trim().toLowerCase();
  return globs.some((glob) => globMatches(glob.toLowerCase(), base));
}

function globMatches(glob: string, base: string): boolean {
  if (glob === '*' || glob === '*/*') return true;
  const [type, sub] = glob.split('/', 2);
  const [baseType, baseSub] = base.split('/', 2);
  return (type === '*' || type === baseType) && (sub === '*' || sub === baseSub);
}

/** A `formats` glob as config accepts it: `type/subtype` where either part may be `*`, or `*`. */
export function isFormatGlob(glob: string): boolean {
  return glob === '*' || /^([\w!#$&^.+-]+|\*)\/([\w!#$&^.+-]+|\*)$/.test(glob);
}
