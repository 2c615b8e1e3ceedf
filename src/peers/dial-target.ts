import type { Address } from '../transport/address.js';
import { formatAddress } from '../transport/address.js';

/** A static peer address (`--peer`) that this daemon keeps dialing. */
export class DialTarget {
  readonly address: string;
  /** Learned from the first handshake; lets the table show it as the same peer. */
  fingerprint: string | undefined;
  state: 'idle' | 'connecting' | 'authenticating' | 'backoff' | 'refused' = 'idle';
  since = Date.now();
  attempt = 0;
  nextRetryAt: number | undefined;
  lastError: string | undefined;
  timer: NodeJS.Timeout | undefined;

  constructor(readonly parsed: Address) {
    this.address = formatAddress(parsed);
  }

  enter(state: DialTarget['state'], now: number): void {
    if (this.state !== state) this.since = now;
    this.state = state;
  }

  cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRetryAt = undefined;
  }
}
