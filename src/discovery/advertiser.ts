import { messageOf } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { Timer, type Clock } from '../core/clock.js';
import { NO_MULTICAST_CODES, errorCode, type MdnsLink } from './mdns-link.js';
import { addressRecords, goodbyeRecords, serviceRecords, type Advertisement, type DnsRecord } from './records.js';

/**
 * Gaps between unsolicited announcements after we appear or our addresses change. RFC 6762
 * §8.3 asks for at least two, one second apart; a third covers one lost packet more.
 */
export const ANNOUNCE_GAPS_MS = [0, 1000, 2000] as const;

interface Advertised {
  link: MdnsLink;
  addresses: string[];
  timer: Timer;
  announcesSent: number;
}

/**
 * Advertises our service on each link: registers the records so the link's responder answers
 * queries, announces them, re-announces when the link's addresses change (after a goodbye for
 * the ones that went away), and says goodbye for everything when the link is detached.
 *
 * bonjour-service's publish() is not used: it advertises every interface's address under the
 * OS host name (shared by network namespaces and cloned VMs, so peers' addresses would
 * merge), ignores interface selection and cannot change addresses without a restart.
 */
export class Advertiser {
  private readonly links = new Map<MdnsLink, Advertised>();
  /** Failures already logged, `link code`: a broken link should not log every second. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly ad: Advertisement,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  attach(link: MdnsLink): void {
    const entry: Advertised = { link, addresses: [...link.spec.addresses], timer: new Timer(this.clock, () => this.announce(entry)), announcesSent: 0 };
    this.links.set(link, entry);
    link.register([...serviceRecords(this.ad), ...addressRecords(this.ad.host, entry.addresses)]);
    this.announce(entry);
  }

  /** The link's addresses changed: goodbye for the dropped ones, then announce the new set. */
  updateAddresses(link: MdnsLink, addresses: readonly string[]): void {
    const entry = this.links.get(link);
    if (entry === undefined) return;
    const dropped = entry.addresses.filter((a) => !addresses.includes(a));
    this.log.info({ link: link.spec.key, family: link.spec.family, addresses, dropped }, 'advertised addresses changed');
    link.unregister(addressRecords(this.ad.host, entry.addresses));
    entry.addresses = [...addresses];
    link.register(addressRecords(this.ad.host, entry.addresses));
    if (dropped.length > 0) this.send(entry, goodbyeRecords(addressRecords(this.ad.host, dropped)), 'goodbye');
    entry.announcesSent = 0;
    this.announce(entry);
  }

  /**
   * Stops advertising on one link while others go on, sending goodbyes first (unless the link
   * cannot send any more); resolves once they are sent. Records that another link on the same
   * network still advertises get no goodbye: a dual-stack peer hears both links, and a goodbye
   * for our SRV over IPv6 (the interface lost IPv6) would make it drop us although IPv4 still
   * announces us. The IPv4 link on the default route shares a network with every link.
   */
  async detach(link: MdnsLink, options: { goodbye?: boolean } = {}): Promise<void> {
    const entry = this.links.get(link);
    if (entry === undefined) return;
    this.links.delete(link);
    entry.timer.clear();
    link.unregister(this.recordsOf(entry));
    if (options.goodbye === false) return;
    const neighbours = [...this.links.values()].filter((other) => sameNetwork(other.link, link));
    if (neighbours.length === 0) return this.send(entry, goodbyeRecords(this.recordsOf(entry)), 'goodbye');
    const stillAdvertised = new Set(neighbours.flatMap((other) => other.addresses));
    const gone = entry.addresses.filter((address) => !stillAdvertised.has(address));
    if (gone.length > 0) await this.send(entry, goodbyeRecords(addressRecords(this.ad.host, gone)), 'goodbye');
  }

  /** Stops advertising everywhere (we are leaving): every link says goodbye for everything. */
  async detachAll(): Promise<void> {
    const entries = [...this.links.values()];
    this.links.clear();
    await Promise.all(
      entries.map((entry) => {
        entry.timer.clear();
        const records = this.recordsOf(entry);
        entry.link.unregister(records);
        return this.send(entry, goodbyeRecords(records), 'goodbye');
      }),
    );
  }

  private announce(entry: Advertised): void {
    if (!this.links.has(entry.link)) return;
    void this.send(entry, this.recordsOf(entry), 'announce');
    entry.announcesSent++;
    const gap = ANNOUNCE_GAPS_MS[entry.announcesSent];
    if (gap !== undefined) entry.timer.set(gap);
  }

  private recordsOf(entry: Advertised): DnsRecord[] {
    return [...serviceRecords(this.ad), ...addressRecords(this.ad.host, entry.addresses)];
  }

  private async send(entry: Advertised, records: DnsRecord[], what: 'announce' | 'goodbye'): Promise<void> {
    try {
      await entry.link.announce(records);
      this.log.debug({ link: entry.link.spec.key, family: entry.link.spec.family, records: records.length }, what === 'announce' ? 'announced' : 'sent goodbye');
    } catch (err) {
      const code = errorCode(err);
      const key = `${entry.link.spec.key} ${code ?? messageOf(err)}`;
      if (this.reported.has(key)) return;
      this.reported.add(key);
      // "Cannot multicast here" turns the link off at the next poll, with its own warning;
      // anything else is unexpected and worth a warning of its own.
      const level = code !== undefined && NO_MULTICAST_CODES.has(code) ? 'debug' : 'warn';
      this.log[level]({ link: entry.link.spec.key, family: entry.link.spec.family, code, err: messageOf(err) }, `cannot send mDNS ${what}`);
    }
  }
}

/** Whether peers that hear one link may hear the other: same interface, or one follows the default route. */
function sameNetwork(a: MdnsLink, b: MdnsLink): boolean {
  return a.spec.interfaceName === undefined || b.spec.interfaceName === undefined || a.spec.interfaceName === b.spec.interfaceName;
}
