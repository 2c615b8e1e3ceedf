import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineProcess, type JsonLine } from './json-lines.js';
import type { Testbed } from './netns.js';

/** The agent script: one Discovery from dist/ printing its events (see discovery-agent.mjs). */
export const DISCOVERY_AGENT = fileURLToPath(new URL('./discovery-agent.mjs', import.meta.url));
const DIST_DISCOVERY = fileURLToPath(new URL('../../dist/discovery/mdns.js', import.meta.url));
/** The python-zeroconf peer; always Debian's python (a pyenv python3 earlier on PATH lacks zeroconf). */
export const ZEROCONF_PEER = fileURLToPath(new URL('./zeroconf-peer.py', import.meta.url));
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface AgentConfig {
  name: string;
  /** The public key line (`ssh-ed25519 AAAA… comment`). */
  publicKey: string;
  port?: number;
  interfaces?: string[];
  pollIntervalMs?: number;
}

/** A peer as the agent prints it. */
export interface AgentPeer {
  fingerprint: string;
  name: string;
  version: number;
  addresses: string[];
  port: number;
  publicKey: string | null;
  txt: Record<string, string>;
  instance: string;
  host: string;
}

export function peerOf(event: JsonLine): AgentPeer {
  return event['peer'] as AgentPeer;
}

/** An event matcher: `up` (or another type) for the peer with this fingerprint. */
export function about(type: 'up' | 'update' | 'down', fingerprint: string, also: (peer: AgentPeer, event: JsonLine) => boolean = () => true) {
  return (event: JsonLine): boolean => event['event'] === type && peerOf(event).fingerprint === fingerprint && also(peerOf(event), event);
}

/** Starts the agent in a testbed host and waits until its Discovery has started. */
export async function startAgent(bed: Testbed, host: string, config: AgentConfig): Promise<JsonLineProcess> {
  if (!existsSync(DIST_DISCOVERY)) throw new Error(`${DIST_DISCOVERY} is missing: run \`npm run build\` first (npm test does it for you)`);
  const child = bed.spawn(host, [process.execPath, DISCOVERY_AGENT, JSON.stringify(config)]);
  const agent = new JsonLineProcess(`agent ${config.name} in ${host}`, child);
  await agent.waitForEvent((e) => e['event'] === 'started', 'discovery to start');
  return agent;
}

/** Stops the agent the clean way (goodbye packets) and waits for it to exit. */
export async function stopAgent(agent: JsonLineProcess): Promise<void> {
  if (!agent.alive) return;
  agent.send('stop');
  await agent.waitForEvent((e) => e['event'] === 'stopped', 'the agent to stop');
  await agent.exited;
}

/** A test key made by ssh-keygen, with its fingerprint as ssh-keygen -lf prints it. */
export interface TestKey {
  line: string;
  fingerprint: string;
  /** The base64 key blob (the `pk` TXT value). */
  blob: string;
}

export function makeKey(dir: string, name: string, type = 'ed25519'): TestKey {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path], { stdio: 'ignore' });
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { line, fingerprint, blob: line.split(' ')[1]! };
}

/** Why python-zeroconf cannot be used, naming the package; undefined when it can. */
export function zeroconfUnavailable(): string | undefined {
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', 'import zeroconf'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `needs ${SYSTEM_PYTHON} with zeroconf: install with \`apt-get install python3-zeroconf\``;
  }
}
