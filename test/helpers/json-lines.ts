import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childOutputWaiters, type OutputWaiters } from './output-waiters.js';

export type JsonLine = Record<string, unknown>;

/**
 * A child process that speaks JSON lines: events on stdout, (pino) log lines on stderr. Tests
 * wait for the line they need, never for time to pass; `mark()` + `since` skip lines that came
 * before an action, so "a down after the stop" cannot be satisfied by an earlier one.
 */
export class JsonLineProcess {
  readonly events: JsonLine[] = [];
  readonly logs: JsonLine[] = [];
  /** Everything on stderr, JSON or not (a crash's stack trace lands here). */
  stderrText = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: OutputWaiters;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.waiters = childOutputWaiters(child, (message) => this.failure(message));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.events.push(parse(line) ?? { event: 'non-json', line });
      this.waiters.wake();
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrText += `${line}\n`;
      const parsed = parse(line);
      if (parsed !== undefined) this.logs.push(parsed);
      this.waiters.wake();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The number of events so far: pass as `since` to wait only for later ones. */
  mark(): number {
    return this.events.length;
  }

  waitForEvent(match: (event: JsonLine) => boolean, what: string, options: { since?: number; timeoutMs?: number } = {}): Promise<JsonLine> {
    return this.waiters.until(() => this.events.slice(options.since ?? 0).find(match), what, options.timeoutMs);
  }

  waitForLog(match: (line: JsonLine) => boolean, what: string, options: { timeoutMs?: number } = {}): Promise<JsonLine> {
    return this.waiters.until(() => this.logs.find(match), what, options.timeoutMs);
  }

  /** Writes one line to the process's stdin. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  private failure(message: string): Error {
    const events = this.events.map((e) => JSON.stringify(e)).join('\n');
    return new Error(`${this.label}: ${message}\n--- events ---\n${events}\n--- stderr (tail) ---\n${this.stderrText.slice(-4000)}`);
  }
}

function parse(line: string): JsonLine | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonLine) : undefined;
  } catch {
    return undefined;
  }
}
