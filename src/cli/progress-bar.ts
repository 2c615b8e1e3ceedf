import type { TransferInfo } from '../sync/transfer-board.js';

/** Byte counts for people: 1.5 MiB, 312 KiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '--:--';
  const seconds = Math.ceil(ms / 1000);
  const m = Math.floor(seconds / 60);
  return `${m}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * One status line for the sends of one clip, redrawn in place on a terminal:
 *   [#########...........]  45%  115 MiB / 256 MiB  310 MiB/s  ETA 0:02  → desktop, laptop
 * Nothing is drawn when stderr is not a terminal, so scripts see only the final result.
 */
export class ProgressLine {
  private readonly transfers = new Map<string, TransferInfo>();
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.out.isTTY === true;
  }

  update(transfer: TransferInfo): void {
    this.transfers.set(transfer.peer, transfer);
    this.draw();
  }

  finish(transfer: TransferInfo): void {
    this.transfers.set(transfer.peer, { ...transfer, rate: 0, etaMs: 0 });
    this.draw();
  }

  /** Removes the line so the final message starts on a clean row. */
  clear(): void {
    if (!this.enabled || !this.drawn) return;
    this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    if (!this.enabled) return;
    const all = [...this.transfers.values()];
    const done = all.reduce((n, t) => n + t.bytes, 0);
    const total = all.reduce((n, t) => n + t.total, 0);
    const rate = all.reduce((n, t) => n + t.rate, 0);
    const eta = all.some((t) => t.etaMs === null) ? null : Math.max(0, ...all.map((t) => t.etaMs ?? 0));
    const share = total === 0 ? 1 : done / total;
    const width = 20;
    const filled = Math.round(share * width);
    const names = all.map((t) => t.name || t.peer.slice(0, 16)).join(', ');
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ` +
      `${filesPart(all)}${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}  → ${names}`;
    const columns = this.out.columns || 100; // 0 on a terminal that reports no size
    this.out.write(`\r\x1b[2K${line.slice(0, Math.max(10, columns - 1))}`);
    this.drawn = true;
  }
}

/** `12/40 files  ` for a files clip (summed over its peers), nothing otherwise. */
function filesPart(transfers: readonly TransferInfo[]): string {
  const files = transfers.map((t) => t.files).filter((f) => f !== undefined);
  if (files.length === 0) return '';
  return `${files.reduce((n, f) => n + f.done, 0)}/${files.reduce((n, f) => n + f.total, 0)} files  `;
}
