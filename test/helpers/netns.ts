import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { missingTools } from './tools.js';

/**
 * Test hosts as network namespaces, made by scripts/testbed.sh: host i is `h<i>` with
 * 10.77.0.i/24 and fd77::i/64 on eth0, all joined by a bridge in a namespace of its own, so
 * multicast sent in a test never reaches the machine's real network.
 */
export const TESTBED_SCRIPT = fileURLToPath(new URL('../../scripts/testbed.sh', import.meta.url));

export interface TestHost {
  /** `h1`, `h2`, … */
  name: string;
  /** The namespace: `<prefix>-h1`. */
  ns: string;
  ipv4: string;
  ipv6: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Why namespaces cannot be made here, or undefined if they can. Names the package to install
 * or says that root is needed; tries for real, since a container may deny it even to root.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  const tools = missingTools({ ip: 'iproute2' });
  if (tools !== undefined) return tools;
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (run the tests as root, e.g. in CI or a VM)';
  const probe = `csprobe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    return `cannot create network namespaces: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    } catch {
      // it was never made
    }
  }
  return undefined;
}

/**
 * True (after printing why) when the testbed cannot run here, so the suite is skipped; in CI
 * it throws instead, because there every test must run. `tools` adds more needs, e.g.
 * python3-zeroconf, as { name shown: reason or undefined }.
 */
export function skipUnlessNetns(extra: Record<string, string | undefined> = {}): boolean {
  const reasons = [netnsUnavailable(), ...Object.values(extra)].filter((r): r is string => r !== undefined);
  if (reasons.length === 0) return false;
  const reason = reasons.join('; ');
  if (process.env['CI']) throw new Error(`CI must run every test, but this one ${reason}`);
  console.warn(`skipping: ${reason}`);
  return true;
}

/** A unique testbed prefix: tests in parallel workers (and leftovers of killed runs) never clash. */
export function uniquePrefix(): string {
  return `cs${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

export class Testbed {
  readonly hosts: TestHost[];
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly prefix: string,
    count: number,
  ) {
    this.hosts = Array.from({ length: count }, (_, i) => ({
      name: `h${i + 1}`,
      ns: `${prefix}-h${i + 1}`,
      ipv4: `10.77.0.${i + 1}`,
      ipv6: `fd77::${i + 1}`,
    }));
  }

  static async up(count: number, prefix = uniquePrefix()): Promise<Testbed> {
    const result = await run(TESTBED_SCRIPT, ['up', String(count), prefix]);
    if (result.code !== 0) {
      await run(TESTBED_SCRIPT, ['down', prefix]);
      throw new Error(`testbed.sh up ${count} ${prefix} failed (${result.code}): ${result.stderr}`);
    }
    return new Testbed(prefix, count);
  }

  host(which: string | number): TestHost {
    const name = typeof which === 'number' ? `h${which}` : which;
    const host = this.hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`no host ${name} in testbed ${this.prefix}`);
    return host;
  }

  /** Runs a command in a host and resolves with its exit code and output. */
  exec(host: string | number, command: readonly string[]): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.host(host).ns, ...command]);
  }

  /** Like exec, but rejects when the command fails. */
  async execOk(host: string | number, command: readonly string[]): Promise<string> {
    const result = await this.exec(host, command);
    if (result.code !== 0) throw new Error(`${command.join(' ')} in ${this.host(host).name} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Starts a long-running command in a host; it is ended (by its pid) in down(). */
  spawn(host: string | number, command: readonly string[], options: SpawnOptions = {}): ChildProcess {
    // `ip netns exec` execs the command, so the child's pid is the command's own.
    const child = spawn('ip', ['netns', 'exec', this.host(host).ns, ...command], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Ends what spawn() started, then removes the namespaces. Safe to call twice. */
  async down(): Promise<void> {
    await Promise.all([...this.children].map((child) => endProcess(child)));
    const result = await run(TESTBED_SCRIPT, ['down', this.prefix]);
    if (result.code !== 0) throw new Error(`testbed.sh down ${this.prefix} failed: ${result.stderr}`);
  }
}

/**
 * A testbed for the enclosing describe block: up in beforeAll, down in afterAll. Call it at
 * the top of a `describe.skipIf(skipUnlessNetns())` block and use the getter inside tests.
 */
export function useTestbed(count: number): () => Testbed {
  let bed: Testbed | undefined;
  beforeAll(async () => {
    bed = await Testbed.up(count);
  });
  afterAll(async () => {
    await bed?.down();
  });
  return () => {
    if (bed === undefined) throw new Error('the testbed is not up (beforeAll failed?)');
    return bed;
  };
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function endProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function run(file: string, args: readonly string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
