import type { ClipMeta } from './clip.js';
import type { MemorySink } from './clip-body.js';

/** How many cut-off in-memory transfers to keep, and for how long, waiting for their sender. */
const MAX_PARTIALS = 4;
const PARTIAL_TTL_MS = 10 * 60 * 1000;

/**
 * Small clips whose connection dropped mid-transfer, kept in memory so that the sender's
 * next OFFER of the same clip resumes where it stopped. (Large clips keep their part file
 * in the spool instead, which also survives a restart.) Bounded in count and age.
 */
export class PartialTransfers {
  private readonly kept = new Map<string, { sink: MemorySink; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  keep(meta: ClipMeta, sink: MemorySink): void {
    this.expire();
    this.kept.delete(meta.id);
    this.kept.set(meta.id, { sink, at: this.now() });
    while (this.kept.size > MAX_PARTIALS) this.kept.delete(this.kept.keys().next().value!);
  }

  take(id: string): MemorySink | undefined {
    this.expire();
    const entry = this.kept.get(id);
    this.kept.delete(id);
    return entry?.sink;
  }

  private expire(): void {
    const cutoff = this.now() - PARTIAL_TTL_MS;
    for (const [id, entry] of this.kept) if (entry.at < cutoff) this.kept.delete(id);
  }
}
