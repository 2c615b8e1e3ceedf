import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import fs from 'node:fs';
import { generateIdentityFile, loadIdentityFile } from '../../dist/identity/identity.js';
import { Connection } from '../../dist/protocol/connection.js';
import { FrameType } from '../../dist/protocol/frame.js';
import { openSocket } from '../../dist/transport/dialer.js';
import { silentLog, tempDir } from './lib.mjs';
const { dir } = tempDir();
await generateIdentityFile(join(dir, 's'), 's'); await generateIdentityFile(join(dir, 'r'), 'r');
const child = spawn(process.execPath, ['scripts/bench/stream-receiver.mjs', 'encrypted', join(dir, 'r')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = JSON.parse(await new Promise((r) => createInterface({ input: child.stdout }).once('line', r))).port;
const sid = await loadIdentityFile(join(dir, 's'));
const c = new Connection(openSocket({ kind: 'tcp', host: '127.0.0.1', port }, 10000), { remote: 'x', handshake: { role: 'initiator', identity: sid, name: 's', checkTrust: async () => ({ name: 'x' }) }, handshakeTimeoutMs: 10000, log: silentLog });
await c.established();
const cpuOf = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const CH = Number(process.env.CH ?? 262144); const TOTAL = 512 * 1024 * 1024; const payload = Buffer.alloc(CH, 1);
for (let run = 0; run < 2; run++) {
const done = new Promise((r) => c.once('frame', r));
await c.send(FrameType.offer, { size: TOTAL });
const r0 = cpuOf(child.pid); const u0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
for (let o = 0; o < TOTAL; o += CH) await c.send(FrameType.data, { id: 'b', offset: o }, payload);
await done;
const wall = Number(process.hrtime.bigint() - t0) / 1e9; const u = process.cpuUsage(u0);
console.log('chunk', CH, 'GB/s', (TOTAL / wall / 1e9).toFixed(3), 'sender cpu %', (((u.user + u.system) / 1e6 / wall) * 100).toFixed(0), 'receiver cpu %', ((cpuOf(child.pid) - r0) / wall * 100).toFixed(0));
}
child.kill(); c.close(1000, 'x'); process.exit(0);
