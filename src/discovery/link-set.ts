import { EventEmitter } from 'node:events';
import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Advertiser } from './advertiser.js';
import { resolveLinks, type InterfaceTable, type LinkFamily, type LinkSpec } from './interfaces.js';
import { MdnsLink, NO_MULTICAST_CODES, errorCode, type SocketFactory } from './mdns-link.js';
import type { DnsQuestion, DnsRecord } from './records.js';
import { SERVICE_TYPE } from './service-names.js';

export interface LinkFailure {
  key: string;
  family: LinkFamily;
  code: string | undefined;
  message: string;
}

/** Whether any link works after a reconcile, and if none, why in one sentence. */
export type LinkHealth = { usable: true } | { usable: false; reason: string; codes: (string | undefined)[] };

export interface LinkSetEvents {
  /** A link opened (at start, when an interface appears, when multicast starts working). */
  opened: [link: MdnsLink];
  /** Records of one response packet, and the family of the link it came in on. */
  response: [records: DnsRecord[], family: LinkFamily];
}

const ROUTE_HINTS: Record<LinkFamily, string> = {
  IPv4: 'ip route add 224.0.0.0/4 dev IFACE',
  IPv6: 'ip -6 route add multicast ff00::/8 dev IFACE table local',
};
/** Logged with the "discovery is off" warning: either family would bring it back. */
export const DISABLED_HINT = `add a multicast route (${ROUTE_HINTS.IPv4}, or for IPv6 ${ROUTE_HINTS.IPv6}), choose interfaces, or turn mDNS off (--no-mdns)`;

/**
 * The open mDNS links, IPv4 and IPv6, kept in line with the machine's interfaces: reconcile()
 * re-reads them, re-advertises on address changes, closes links whose interface (or family)
 * went away and opens (or retries) the rest. Opening a link sends the first browse query, and
 * that send is the test of whether the host can multicast there at all: with no route to
 * 224.0.0.0/4 (or to ff00::/8 on the interface) it fails with ENETUNREACH instead of the
 * daemon finding out by never hearing anyone. Each link stands alone: one family failing
 * leaves the other running, and discovery is off only when no link of either family works.
 */
export class LinkSet extends EventEmitter<LinkSetEvents> {
  private readonly links = new Map<string, MdnsLink>();
  private readonly failures = new Map<string, LinkFailure>();
  private readonly reportedProblems = new Set<string>();
  private readonly warnedFailures = new Set<string>();

  constructor(
    private readonly selection: readonly string[],
    private readonly readInterfaces: () => InterfaceTable,
    private readonly advertiser: Advertiser | undefined,
    private readonly log: Logger,
    private readonly socketFactory?: SocketFactory,
  ) {
    super();
  }

  get size(): number {
    return this.links.size;
  }

  keys(): string[] {
    return [...this.links.keys()];
  }

  /** `isActive` is asked after every await: stop() may have been called meanwhile. */
  async reconcile(isActive: () => boolean): Promise<LinkHealth> {
    const { links: wanted, problems } = resolveLinks(this.selection, this.readInterfaces());
    this.reportProblems(problems);
    const wantedKeys = new Set(wanted.map((spec) => spec.key));
    const brokenKeys = new Set<string>();
    for (const [key, link] of this.links) {
      const sendError = link.lastSendError;
      if (sendError !== undefined && NO_MULTICAST_CODES.has(errorCode(sendError) ?? '')) brokenKeys.add(key);
    }

    // Address changes first, closing second: a link closing (its IPv4 address changed, or its
    // interface lost IPv6) leaves goodbyes to the links that stay where they still advertise
    // the records (see Advertiser.detach), and that needs their address sets to be current.
    for (const spec of wanted) {
      const open = this.links.get(spec.key);
      if (open === undefined || brokenKeys.has(spec.key) || open.spec.addresses.join(' ') === spec.addresses.join(' ')) continue;
      open.spec.addresses = [...spec.addresses];
      this.advertiser?.updateAddresses(open, spec.addresses);
    }

    for (const [key, link] of this.links) {
      const broken = brokenKeys.has(key);
      if (wantedKeys.has(key) && !broken) continue;
      this.links.delete(key);
      if (broken) {
        // Multicast stopped working under us (route or interface gone): close the link and
        // let the retry below (and later polls) reopen it once sends work again.
        const sendError = link.lastSendError;
        this.noteFailure({ key, family: link.spec.family, code: errorCode(sendError), message: messageOf(sendError) });
      } else {
        this.log.info({ link: key, family: link.spec.family }, 'interface or address gone; mDNS stopped on this link');
      }
      await this.advertiser?.detach(link, { goodbye: !broken });
      await link.close();
    }
    for (const key of this.failures.keys()) if (!wantedKeys.has(key)) this.failures.delete(key);

    for (const spec of wanted) {
      if (this.links.has(spec.key)) continue;
      const link = await this.open(spec);
      if (link === undefined) continue;
      if (!isActive()) {
        await link.close();
        break;
      }
      this.links.set(spec.key, link);
      this.advertiser?.attach(link);
      this.emit('opened', link);
    }
    return this.health(wanted.length === 0 ? problems : []);
  }

  /** Sends a query on every open link; a failed send is logged, not thrown. */
  query(questions: DnsQuestion[]): void {
    for (const link of this.links.values()) {
      link.query(questions).catch((err: unknown) => this.log.debug({ link: link.spec.key, err: messageOf(err) }, 'mDNS query not sent'));
    }
  }

  /** Goodbyes on every link, then closes them all. */
  async closeAll(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    this.failures.clear();
    this.warnedFailures.clear();
    await this.advertiser?.detachAll();
    await Promise.all(links.map((link) => link.close()));
  }

  private async open(spec: LinkSpec): Promise<MdnsLink | undefined> {
    const link = new MdnsLink({ ...spec, addresses: [...spec.addresses] }, this.socketFactory);
    let socketError: Error | undefined;
    link.on('error', (err) => {
      socketError = err;
    });
    // multicast-dns retries failed group joins every 5 s; log each distinct warning once per link.
    const warned = new Set<string>();
    link.on('warning', (err) => {
      const message = messageOf(err);
      if (warned.has(message) || warned.size >= 32) return;
      warned.add(message);
      this.log.debug({ link: spec.key, err: message }, 'mDNS socket warning');
    });
    link.on('response', (records) => this.emit('response', records, spec.family));
    try {
      await link.query([{ name: SERVICE_TYPE, type: 'PTR' }]);
      if (socketError !== undefined) throw socketError;
    } catch (err) {
      await link.close();
      this.noteFailure({ key: spec.key, family: spec.family, code: errorCode(err), message: messageOf(err) });
      return undefined;
    }
    if (this.failures.delete(spec.key)) this.log.info({ link: spec.key }, 'mDNS works on this link again');
    this.warnedFailures.delete(spec.key);
    this.log.debug({ link: spec.key, family: spec.family, addresses: spec.addresses }, 'mDNS link open');
    return link;
  }

  private noteFailure(failure: LinkFailure): void {
    const previous = this.failures.get(failure.key);
    this.failures.set(failure.key, failure);
    if (previous !== undefined && previous.code === failure.code) return; // a retry failing alike
    this.log.debug({ link: failure.key, family: failure.family, code: failure.code, err: failure.message }, 'cannot multicast on this link');
  }

  /** Interfaces asked for but unusable: warned once each, again if they recover and break. */
  private reportProblems(problems: readonly string[]): void {
    for (const problem of problems) {
      if (this.reportedProblems.has(problem)) continue;
      this.reportedProblems.add(problem);
      this.log.warn({ problem }, `mDNS interfaces: ${problem}`);
    }
    for (const problem of this.reportedProblems) if (!problems.includes(problem)) this.reportedProblems.delete(problem);
  }

  private health(problems: readonly string[]): LinkHealth {
    const failures = [...this.failures.values()];
    if (this.links.size > 0) {
      // Some links work: the ones that do not get their own line (once), not "discovery off".
      // An IPv6 link we opened on our own (no interfaces chosen) failing is only news: a VPN
      // tunnel has IPv6 but no multicast. A chosen interface, or IPv4, failing is a warning.
      for (const failure of failures) {
        if (this.warnedFailures.has(failure.key)) continue;
        this.warnedFailures.add(failure.key);
        const level = this.selection.length === 0 && failure.family === 'IPv6' ? 'info' : 'warn';
        this.log[level](
          { link: failure.key, family: failure.family, code: failure.code, hint: `add a multicast route (${ROUTE_HINTS[failure.family]}), or choose interfaces` },
          `mDNS is off on ${labelOf(failure.key)}: ${describeFailure(failure)}`,
        );
      }
      return { usable: true };
    }
    const reason =
      failures.length > 0
        ? `cannot send multicast: ${failures.map((f) => `${labelOf(f.key)}: ${describeFailure(f)}`).join('; ')}`
        : `no usable interface${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`;
    return { usable: false, reason, codes: [...new Set(failures.map((f) => f.code))] };
  }
}

/** A link key as a person reads it: `all` is the IPv4 link on the kernel's default route. */
function labelOf(key: string): string {
  return key === 'all' ? 'IPv4 default route' : key;
}

export function describeFailure(failure: LinkFailure): string {
  if (failure.code === 'ENETUNREACH' || failure.code === 'EHOSTUNREACH') return `no multicast route (${failure.code})`;
  if (failure.code !== undefined && NO_MULTICAST_CODES.has(failure.code)) return `multicast refused (${failure.code})`;
  return failure.message;
}
