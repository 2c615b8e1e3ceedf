// Zero-configuration mesh benchmarks: real `clipsync daemon` processes, one per testbed host
// (scripts/testbed.sh: network namespaces on one bridge), finding each other by mDNS alone.
// Needs Linux, root and ip(8); otherwise each function returns { skipped: reason }. Each sets
// up its own testbed (unique prefix) and temp homes and removes them, whatever happens.
//
// benchMdnsStartup({ rounds = 10 }): time from starting a daemon to its first authenticated
//   connection, found by mDNS alone (no --peer). Host h1 runs a daemon throughout; each round
//   spawns the daemon of h2 and measures from the spawn (wall clock, just before the process is
//   created: Node start-up and module loading count) to the `time` of h2's 'peer connected'
//   log line, and to its 'daemon ready' line. Then h2 stops (mDNS goodbye) and h1 is seen to
//   forget it before the next round. One warm-up round (cold file cache) is not counted.
//   Returns { rounds, connect, ready, firstLog, readyToConnect } in ms, each { n, median, p90,
//   p99, min }; firstLog is spawn to the daemon's first log line (Node start + module loading).
//   Target: connect median < 1500 ms.
//
// benchMesh({ hosts = 12, clips = 20, clipBytes = 4096 }): `hosts` daemons, all trusting each
//   other (keys from `clipsync init`, trust from `clipsync trust FILE`), started together and
//   left to find each other by mDNS until each has hosts-1 connected peers (readyMs: start to
//   the last 'daemon ready'; formationMs: start to the last of those connections). Then `clips`
//   text clips of `clipBytes` each are copied one after the other through the control socket,
//   rotating the origin host. For every (clip, receiver) pair the latency runs from just before
//   the copy request to the moment the bench reads the receiver's 'end'/'completed' event of
//   direction 'receive' on its `GET /v1/events` stream (the clip is pasteable from then on).
//   Returns perReceiver (all pairs), toAll (per clip, until the last receiver had it),
//   perReceiverLog (the same pairs timed by the receivers' own 'clip received' log lines) and
//   missed (pairs not delivered within 15 s), in ms.
//
// `node scripts/bench/mesh.mjs` runs both and prints JSON. BENCH_MESH_LOGS=DIR keeps the mesh
// daemons' logs there; BENCH_MESH_LOG_LEVEL=debug makes them verbose.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fingerprintOf } from '../../dist/identity/public-key.js';
import { IpcClient } from '../../dist/ipc/client.js';
import { summarize, tempDir } from './lib.mjs';

const CLI = fileURLToPath(new URL('../../bin/clipsync.cjs', import.meta.url));
const TESTBED = fileURLToPath(new URL('../testbed.sh', import.meta.url));
const PORT = 25470;
const CONFIG = { backoffBaseMs: 100, backoffCapMs: 1000 };
const run = promisify(execFile);

/** Why the testbed cannot run here, or undefined. */
function unavailable() {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs ip(8): install iproute2';
  }
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = `csbprobe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch (err) {
    return `cannot create network namespaces: ${String(err.message ?? err).trim()}`;
  }
  return undefined;
}

/** Brings up a testbed of `count` hosts, runs `body(prefix, dir)`, then tears everything down. */
async function withTestbed(count, body) {
  const reason = unavailable();
  if (reason !== undefined) return { skipped: reason };
  const prefix = `csb${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const temp = tempDir('cs-mesh-');
  const daemons = [];
  try {
    await run(TESTBED, ['up', String(count), prefix]);
    return await body({ prefix, dir: temp.dir, daemons });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    const keep = process.env['BENCH_MESH_LOGS'];
    if (keep) for (const [i, d] of daemons.entries()) writeFileSync(join(keep, `${i}-${d.ns}.log`), d.logs.map((l) => JSON.stringify(l)).join('\n'));
    await run(TESTBED, ['down', prefix]).catch(() => undefined);
    temp.remove();
  }
}

function cli(home, args) {
  return run(process.execPath, [CLI, ...args, '--home', home], { env: { ...process.env, CLIPSYNC_LOG_LEVEL: 'warn' } });
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited(items, limit, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length > 0) await fn(queue.shift());
  }));
}


/** `clipsync init` one home per name (with CONFIG merged in); each trusts the others when `trusted`. */
async function makeHomes(dir, names) {
  const homes = names.map((name) => ({ name, home: join(dir, name) }));
  await eachLimited(homes, 4, async (h) => {
    await cli(h.home, ['init', '--name', h.name]);
    const file = join(h.home, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...CONFIG }));
    const [type, blob] = readFileSync(join(h.home, 'id_ed25519.pub'), 'utf8').trim().split(' ');
    h.publicKey = `${type} ${blob} ${h.name}`;
    h.fingerprint = fingerprintOf(Buffer.from(h.publicKey.split(' ')[1], 'base64'));
  });
  return homes;
}

/** Each home trusts every other, with one `clipsync trust FILE` (an authorized_keys file). */
async function trustEachOther(dir, homes) {
  await eachLimited(homes, 4, async (h) => {
    const file = join(dir, `keys-for-${h.name}`);
    writeFileSync(file, homes.filter((o) => o !== h).map((o) => `${o.publicKey}\n`).join(''));
    await cli(h.home, ['trust', file]);
  });
}

/** A daemon in testbed host `ns`, with its JSON log lines collected (info level). */
function startDaemon(ns, home) {
  const spawnedAt = Date.now();
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'daemon', '--home', home, '--clipboard', 'memory', '--listen', `tcp://0.0.0.0:${PORT}`], {
    env: { ...process.env, CLIPSYNC_LOG_LEVEL: process.env['BENCH_MESH_LOG_LEVEL'] ?? 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = [];
  const wakers = new Set();
  let tail = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail = `${tail}${line}\n`.slice(-4000);
    try {
      logs.push(JSON.parse(line));
    } catch {
      // not JSON: kept in the tail for error messages
    }
    for (const wake of [...wakers]) wake();
  });
  child.once('exit', () => {
    for (const wake of [...wakers]) wake();
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const daemon = {
    ns,
    home,
    spawnedAt,
    logs,
    client: new IpcClient(join(home, 'clipsync.sock')),
    /** Resolves with find()'s first defined answer, re-asked at every log line. */
    until(find, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find();
          if (found !== undefined) return done(() => resolve(found));
          if (!alive()) return done(() => reject(new Error(`daemon in ${ns} exited before ${what}:\n${tail}`)));
        };
        const done = (settle) => {
          clearTimeout(timer);
          wakers.delete(check);
          settle();
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what} in ${ns}:\n${tail}`))), timeoutMs);
        wakers.add(check);
        check();
      });
    },
    waitLog(match, what, since = 0, timeoutMs = 60_000) {
      return daemon.until(() => logs.slice(since).find(match), what, timeoutMs);
    },
    /** Resolves when the latest connected/disconnected line about each fingerprint is 'peer connected'. */
    waitConnected(fingerprints, since = 0) {
      return daemon.until(() => {
        const last = new Map();
        for (const l of logs.slice(since)) if (l.msg === 'peer connected' || l.msg === 'peer disconnected') last.set(l.peer, l);
        const lines = fingerprints.map((fp) => last.get(fp));
        return lines.every((l) => l?.msg === 'peer connected') ? lines : undefined;
      }, `connections to ${fingerprints.length} peer(s)`);
    },
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return daemon;
}

export async function benchMdnsStartup({ rounds = 10 } = {}) {
  return withTestbed(2, async ({ prefix, dir, daemons }) => {
    const [a, b] = await makeHomes(dir, ['first', 'second']);
    await trustEachOther(dir, [a, b]);
    const first = startDaemon(`${prefix}-h1`, a.home);
    daemons.push(first);
    await first.waitLog((l) => l.msg === 'daemon ready', 'daemon ready');
    const connect = [];
    const ready = [];
    const readyToConnect = [];
    const firstLog = [];
    for (let round = 0; round <= rounds; round++) {
      const since = first.logs.length;
      const second = startDaemon(`${prefix}-h2`, b.home);
      daemons.push(second);
      const [connected] = await second.waitConnected([a.fingerprint]);
      const readyLine = await second.waitLog((l) => l.msg === 'daemon ready', 'daemon ready');
      await first.waitConnected([b.fingerprint], since);
      if (round > 0) {
        connect.push(connected.time - second.spawnedAt);
        ready.push(readyLine.time - second.spawnedAt);
        readyToConnect.push(connected.time - readyLine.time);
        firstLog.push(second.logs[0].time - second.spawnedAt);
      }
      const beforeStop = first.logs.length;
      await second.stop();
      daemons.splice(daemons.indexOf(second), 1);
      await first.waitLog((l) => l.msg === 'peer left the network' && l.peer === b.fingerprint, 'the goodbye', beforeStop);
    }
    return { rounds, connect: summarize(connect), ready: summarize(ready), firstLog: summarize(firstLog), readyToConnect: summarize(readyToConnect) };
  });
}

export async function benchMesh({ hosts = 12, clips = 20, clipBytes = 4096 } = {}) {
  return withTestbed(hosts, async ({ prefix, dir, daemons }) => {
    const homes = await makeHomes(dir, Array.from({ length: hosts }, (_, i) => `m${i + 1}`));
    await trustEachOther(dir, homes);

    const started = Date.now();
    for (const [i, h] of homes.entries()) daemons.push(startDaemon(`${prefix}-h${i + 1}`, h.home));
    const lastLines = await Promise.all(daemons.map((d, i) => d.waitConnected(homes.filter((_, j) => j !== i).map((h) => h.fingerprint))));
    const formationMs = Math.max(...lastLines.flat().map((l) => l.time)) - started;
    const readyMs = Math.max(...(await Promise.all(daemons.map((d) => d.waitLog((l) => l.msg === 'daemon ready', 'daemon ready')))).map((l) => l.time)) - started;
    for (const d of daemons) {
      const peers = await d.client.json({ method: 'GET', path: '/v1/peers' });
      const live = peers.filter((p) => p.state === 'connected').length;
      if (live !== hosts - 1) throw new Error(`${d.ns}: ${live} connected peers, expected ${hosts - 1}`);
    }

    // Every receiver's event stream, read for the whole run: completed receives by clip id.
    // open() resolves once the daemon has answered with its headers, i.e. is subscribed.
    const receivedAt = daemons.map(() => new Map());
    const wakers = new Set();
    const responses = await Promise.all(daemons.map((d) => d.client.open({ method: 'GET', path: '/v1/events' })));
    responses.forEach(async (res, i) => {
      try {
        for await (const line of createInterface({ input: res })) {
          if (line.trim() === '') continue;
          const event = JSON.parse(line);
          if (event.event === 'end' && event.outcome === 'completed' && event.transfer.direction === 'receive') {
            receivedAt[i].set(event.transfer.id, Date.now());
            for (const wake of [...wakers]) wake();
          }
        }
      } catch {
        // the daemon stopped at teardown
      }
    });

    const perReceiver = [];
    const perReceiverLog = [];
    const toAll = [];
    let missed = 0;
    for (let n = 0; n < clips; n++) {
      const origin = n % hosts;
      const text = `${n} ${randomBytes(Math.ceil((clipBytes * 3) / 4)).toString('base64')}`.slice(0, clipBytes);
      const t0 = Date.now();
      const { id } = await daemons[origin].client.json({ method: 'POST', path: '/v1/copy', query: { mime: 'text/plain' }, body: Buffer.from(text) });
      const receivers = daemons.map((_, i) => i).filter((i) => i !== origin);
      const all = () => receivers.every((i) => receivedAt[i].has(id));
      await new Promise((resolve) => {
        const check = () => {
          if (!all()) return;
          clearTimeout(timer);
          wakers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          wakers.delete(check);
          resolve();
        }, 15_000);
        wakers.add(check);
        check();
      });
      const times = receivers.filter((i) => receivedAt[i].has(id)).map((i) => receivedAt[i].get(id) - t0);
      missed += receivers.length - times.length;
      perReceiver.push(...times);
      if (times.length === receivers.length) toAll.push(Math.max(...times));
      for (const i of receivers) {
        // The log line comes through stderr, the event through the socket: either may be first.
        const line = await daemons[i].waitLog((l) => l.msg === 'clip received' && l.clip === id.slice(0, 16), 'clip received', 0, 5000).catch(() => undefined);
        if (line !== undefined) perReceiverLog.push(line.time - t0);
      }
    }
    // (Not awaited: readline never ends on a destroyed input.)
    for (const res of responses) res.destroy();
    return {
      hosts,
      clips,
      clipBytes,
      readyMs,
      formationMs,
      perReceiver: summarize(perReceiver),
      toAll: summarize(toAll),
      perReceiverLog: summarize(perReceiverLog),
      missed,
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ startup: await benchMdnsStartup(), mesh: await benchMesh() }, null, 2));
}
