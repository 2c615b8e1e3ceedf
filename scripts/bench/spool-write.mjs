// How fast a receiving daemon can put a large clip on disk: the same 960 KiB chunks appended to
// a fresh part file through the page cache and with direct I/O (src/spool/part-appender.ts),
// with its writes going on behind the appends and, as before, one at a time,
// each timed up to the fdatasync that makes it durable, as a finished transfer is.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { PartAppender } from '../../dist/spool/part-appender.js';
import { MAX_DATA_BODY_BYTES as DATA_CHUNK_BYTES } from '../../dist/protocol/limits.js';
import { summarize, tempDir } from './lib.mjs';

const SIZE = Number(process.env.BENCH_TRANSFER_MIB ?? 256) * 1024 * 1024;
const RUNS = 3;

async function appendRate(dir, name, direct, writesInFlight) {
  const path = join(dir, name);
  const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  const chunk = randomFillSync(Buffer.allocUnsafe(DATA_CHUNK_BYTES));
  try {
    const appender = await PartAppender.open(path, file, 0, { direct, writesInFlight });
    const usedDirect = appender.isDirect;
    const start = process.hrtime.bigint();
    for (let at = 0; at < SIZE; at += chunk.length) await appender.append(chunk.subarray(0, Math.min(chunk.length, SIZE - at)));
    await appender.flush();
    await file.datasync();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { rate: SIZE / seconds, direct: usedDirect };
  } finally {
    await file.close();
  }
}

export async function benchSpoolWrite() {
  const { dir, remove } = tempDir();
  try {
    const cached = [];
    const direct = [];
    const directOneAtATime = [];
    let directUsed = true;
    for (let run = 0; run < RUNS; run++) {
      // A new file each time, as each clip is: the page cache must find fresh pages for it.
      cached.push((await appendRate(dir, `cached-${run}`, false)).rate);
      const d = await appendRate(dir, `direct-${run}`, true);
      direct.push(d.rate);
      directUsed &&= d.direct;
      // The baseline the write-behind replaced: each direct write waited for before the next.
      directOneAtATime.push((await appendRate(dir, `direct-one-${run}`, true, 1)).rate);
    }
    return { size: SIZE, runs: RUNS, cached: summarize(cached), direct: summarize(direct), directOneAtATime: summarize(directOneAtATime), directUsed };
  } finally {
    remove();
  }
}
