// `npm run bench`: runs every benchmark with its baseline in the same run, prints the
// results and rewrites docs/BENCHMARKS.md. Numbers depend on the machine and its load:
// run it on a quiet machine; nothing here is asserted by the test suite.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchCrypto } from './crypto.mjs';
import { benchHandshake } from './handshake.mjs';
import { benchStream } from './stream.mjs';
import { fmt, machine } from './lib.mjs';

const gbps = (bytesPerSecond) => `${fmt(bytesPerSecond / 1e9, 2)} GB/s`;
const lines = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};

const started = new Date();
out('# Benchmarks');
out();
out(`Measured by \`npm run bench\` (scripts/bench/run.mjs) on ${started.toISOString().slice(0, 10)}: ${machine()}.`);
out('Every figure sits beside its baseline from the same run. Loopback only; sender and receiver');
out('of the stream test are separate processes, as two daemons are. Rerun on a quiet machine:');
out('other load moves these numbers a lot on 2 cores.');
out();

const handshake = await benchHandshake();
out('## Handshake on loopback');
out();
out(`${handshake.rounds} sequential connections per row, after warm-up. "Total" is TCP connect + WebSocket upgrade +`);
out('clipsync handshake (HELLO both ways, AUTH both ways, X25519, signatures, trust check);');
out('"handshake" starts at the WebSocket open.');
out();
out('| identity | total median | total p90 | handshake median | handshake p90 |');
out('| --- | --- | --- | --- | --- |');
out(`| baseline: plain WebSocket connect, no handshake | ${fmt(handshake.plain.median)} ms | ${fmt(handshake.plain.p90)} ms | – | – |`);
for (const r of handshake.results) {
  out(`| ${r.kind} | ${fmt(r.total.median)} ms | ${fmt(r.total.p90)} ms | ${fmt(r.handshake.median)} ms | ${fmt(r.handshake.p90)} ms |`);
}
out();
const ed = handshake.results.find((r) => r.kind === 'ed25519');
out(`Target: ed25519 handshake median < 5 ms — ${ed.total.median < 5 ? 'met' : 'NOT met'} (${fmt(ed.total.median)} ms including connect).`);
out();

const stream = await benchStream();
out('## Encrypted vs plain stream');
out();
out(`${stream.totalBytes / 2 ** 20} MiB per run in ${stream.chunk / 1024} KiB messages, at most 4 MiB in flight, ${stream.runs} rounds,`);
out('client to server (the direction that pays for WebSocket masking).');
out();
const pct = (share) => (share === undefined ? 'n/a' : `${fmt(share * 100, 0)}%`);
out('| mode | median | min | sender CPU | receiver CPU |');
out('| --- | --- | --- | --- | --- |');
for (const r of stream.rows) out(`| ${r.mode} | ${gbps(r.median)} | ${gbps(r.min)} | ${pct(r.senderCpu)} | ${pct(r.receiverCpu)} |`);
out();
out('CPU is the share of one core each process used over the whole row (both processes share the');
out("machine's cores with the kernel's loopback work).");
out();
const [plainDefault, plainSame, encrypted] = stream.rows;
out(`Encrypted keeps ${fmt((encrypted.median / plainDefault.median) * 100, 0)}% of plain ws as usually configured, and`);
out(`${fmt((encrypted.median / plainSame.median) * 100, 0)}% of plain ws with clipsync's own transport settings (no masking pass),`);
out('whose sender does no per-byte work at all.');
out(`Per round (each mode run once, back to back), encrypted / plain ws as usually configured:`);
out(`${stream.ratioSamples.map((r) => `${fmt(r * 100, 0)}%`).join(', ')}; median ${fmt(stream.ratios.median * 100, 0)}%.`);
out(`Target: encrypted >= 50% of the plain stream — ${stream.ratios.median >= 0.5 ? 'met' : 'NOT met'} by the median of the per-round ratios.`);
out('The encrypted row runs with both processes near a full core each: every byte is sealed once');
out('and opened once at the single-core AEAD rates below, on a machine with two cores, so this is');
out('where the ceiling is; see the AEAD table.');
out();

const crypto = benchCrypto();
out('## The AEAD on one core');
out();
out(`${crypto.chunk / 1024} KiB messages, one core, no I/O.`);
out();
out('| operation | rate |');
out('| --- | --- |');
for (const r of crypto.rows) out(`| ${r.what} | ${gbps(r.rate)} |`);
out();

writeFileSync(fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url)), `${lines.join('\n')}\n`);
console.error('wrote docs/BENCHMARKS.md');
