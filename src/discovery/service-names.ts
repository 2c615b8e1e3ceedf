import { truncateUtf8, sanitizeDeviceName } from './txt-record.js';

/** The DNS-SD service type clipsync browses and advertises (RFC 6763 §7), without the trailing dot. */
export const SERVICE_TYPE = '_clipsync._tcp.local';
/** RFC 6763 §9: listing our type here lets generic browsers (avahi-browse -a) find it. */
export const SERVICE_TYPE_ENUMERATION = '_services._dns-sd._udp.local';

/** Hex characters of the key hash that make our names unique on the LAN (48 bits). */
const TAG_HEX_CHARS = 12;
/** A DNS label holds at most 63 bytes. */
const LABEL_MAX_BYTES = 63;

/** A short, DNS-safe tag of a fingerprint: the first 48 bits of its SHA-256, in hex. */
export function fingerprintTag(fingerprint: string): string {
  const digest = Buffer.from(fingerprint.slice('SHA256:'.length), 'base64');
  return digest.subarray(0, TAG_HEX_CHARS / 2).toString('hex');
}

/**
 * Our service instance name, `<device name>-<tag>`: readable in avahi-browse, unique per key.
 * Unique names are why we can skip RFC 6762 probing (which costs ~1 s before announcing):
 * only a second daemon with the same key could collide, and the handshake treats that as
 * the same peer anyway. Dots and backslashes are replaced so no implementation has to
 * agree with us on escaping them.
 */
export function instanceLabel(deviceName: string, fingerprint: string): string {
  const tag = fingerprintTag(fingerprint);
  const base = sanitizeDeviceName(deviceName).replace(/[.\\]/g, '-');
  return `${truncateUtf8(base, LABEL_MAX_BYTES - tag.length - 1).trim()}-${tag}`;
}

/** The full instance domain name, e.g. `laptop-3fa9c1d2e4b5._clipsync._tcp.local`. */
export function instanceName(deviceName: string, fingerprint: string): string {
  return `${instanceLabel(deviceName, fingerprint)}.${SERVICE_TYPE}`;
}

/**
 * Our own host name for the SRV target and A/AAAA records, `clipsync-<tag>.local`. Not the
 * machine's host name: hosts in network namespaces (and cloned VMs) share one, and A
 * records under a shared name would merge the addresses of different machines.
 */
export function hostName(fingerprint: string): string {
  return `clipsync-${fingerprintTag(fingerprint)}.local`;
}

/** DNS names compare case-insensitively (RFC 1035 §2.3.3); a trailing dot is the same name. */
export function dnsKey(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Whether `name` is an instance of our service type: `<one label>._clipsync._tcp.local`. */
export function isInstanceOfService(name: string): boolean {
  const key = dnsKey(name);
  const suffix = `.${SERVICE_TYPE}`;
  return key.endsWith(suffix) && key.length > suffix.length;
}
