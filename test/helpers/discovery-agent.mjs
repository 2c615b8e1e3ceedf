// One Discovery (from the build output, dist/) in its own process, for tests that run it
// inside a testbed host. Events come out on stdout as JSON lines; the pino log goes to stderr.
//
//   node discovery-agent.mjs '{"name":"h1","publicKey":"ssh-ed25519 AAAA…","port":25470}'
//
// Optional config keys: interfaces (string[]), pollIntervalMs, protocolVersion (default 1).
// stdin lines: "refresh" sends a browse query, "stop" stops (goodbye) and exits; so does SIGTERM.
import { createInterface } from 'node:readline';
import { Discovery } from '../../dist/discovery/mdns.js';
import { PublicKey } from '../../dist/identity/public-key.js';
import { createRootLogger } from '../../dist/core/log.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const describe = (peer) => ({
  fingerprint: peer.fingerprint,
  name: peer.name,
  version: peer.version,
  addresses: peer.addresses,
  port: peer.port,
  publicKey: peer.publicKey?.toLine() ?? null,
  txt: peer.txt,
  instance: peer.instance,
  host: peer.host,
});

const options = {
  publicKey: PublicKey.fromLine(config.publicKey),
  name: config.name,
  protocolVersion: config.protocolVersion ?? 1,
  log: createRootLogger(config.logLevel ?? 'debug'),
};
if (config.port !== undefined) options.port = config.port;
if (config.interfaces !== undefined) options.interfaces = config.interfaces;
if (config.pollIntervalMs !== undefined) options.pollIntervalMs = config.pollIntervalMs;
const discovery = new Discovery(options);

discovery.on('up', (peer) => print({ event: 'up', peer: describe(peer) }));
discovery.on('update', (peer, previous) => print({ event: 'update', peer: describe(peer), previous: describe(previous) }));
discovery.on('down', (peer, reason) => print({ event: 'down', peer: describe(peer), reason }));
discovery.on('state', (state, reason) => print({ event: 'state', state, reason: reason ?? null }));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await discovery.stop();
  print({ event: 'stopped' });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stop') void stop();
  if (line.trim() === 'refresh') discovery.refresh();
});

await discovery.start();
print({ event: 'started', state: discovery.state, fingerprint: options.publicKey.fingerprint });
