import { createInterface } from 'node:readline/promises';
import type { Argv } from 'yargs';
import { fail } from '../../core/errors.js';
import type { IpcClient } from '../../ipc/client.js';
import type { PairCandidate, PairingInfo, StatusResponse } from '../../ipc/schema.js';
import { clientFrom, type GlobalArgs } from '../context.js';
import { printJson, printLine, printList, table, usageError } from '../output.js';

interface PairArgs extends GlobalArgs {
  peer?: string;
  pending: boolean;
  accept?: string;
  reject?: string;
  wait: boolean;
}

/**
 * `clipsync pair`: lists peers to pair with, starts a pairing, shows requests, accepts or
 * rejects them. The daemon does the work; this only asks and prints.
 */
export function pairCommand(cli: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return cli.command(
    'pair [peer]',
    'Pair with a peer by comparing a verification code: list peers (no argument), start (NAME, FP or ADDRESS), --pending, --accept, --reject',
    (y) =>
      y
        .positional('peer', { type: 'string', describe: 'NAME or FINGERPRINT as `clipsync pair` lists them, or tcp://HOST:PORT / unix:PATH' })
        .option('pending', { type: 'boolean', default: false, describe: 'List pairing requests in progress (both ways)' })
        .option('accept', { type: 'string', describe: 'Accept the request of NAME|FP after checking both sides show the same code' })
        .option('reject', { type: 'string', describe: 'Reject the request of NAME|FP (the codes differ, or you did not ask for it)' })
        .option('wait', { type: 'boolean', default: false, describe: 'With --accept: return only once the pairing is done (or failed)' }),
    async (args) => {
      const a = args as PairArgs;
      const modes = [a.peer !== undefined, a.pending, a.accept !== undefined, a.reject !== undefined].filter(Boolean).length;
      if (modes > 1) throw usageError('give one of PEER, --pending, --accept NAME|FP or --reject NAME|FP');
      if (a.wait && a.accept === undefined) throw usageError('--wait goes with --accept');
      const client = clientFrom(a);
      if (a.pending) await listPending(client, a);
      else if (a.accept !== undefined) await accept(client, a, a.accept);
      else if (a.reject !== undefined) await reject(client, a, a.reject);
      else if (a.peer !== undefined) await start(client, a, a.peer);
      else await listCandidates(client, a);
    },
  );
}

async function listCandidates(client: IpcClient, args: PairArgs): Promise<void> {
  const candidates = await client.json<PairCandidate[]>({ method: 'GET', path: '/v1/pair/candidates' });
  if (args.json) {
    printJson(candidates);
    return;
  }
  if (candidates.length === 0) printLine('no unpaired peers found on the network; to pair by address: clipsync pair tcp://HOST:PORT');
  else printLine(table(['NAME', 'ADDRESS', 'FINGERPRINT'], candidates.map((c) => [c.name || '-', c.address, c.fingerprint])));
  const pending = await client.json<PairingInfo[]>({ method: 'GET', path: '/v1/pair/pending' });
  if (pending.length > 0) printLine(`\n${pending.length} pairing request(s) in progress: see \`clipsync pair --pending\``);
}

async function listPending(client: IpcClient, args: PairArgs): Promise<void> {
  const pending = await client.json<PairingInfo[]>({ method: 'GET', path: '/v1/pair/pending' });
  printList(pending, {
    json: args.json,
    empty: 'no pairing requests',
    headers: ['NAME', 'FINGERPRINT', 'ADDRESS', 'DIRECTION', 'CODE', 'EXPIRES', 'WAITING FOR'],
    row: (p) => [p.name || '-', p.fingerprint, p.address, p.direction, p.code === null ? '-' : formatCode(p.code), `${p.expiresInSec} s`, waitingFor(p)],
  });
}

async function start(client: IpcClient, args: PairArgs, peer: string): Promise<void> {
  const info = await client.json<PairingInfo>({ method: 'POST', path: '/v1/pair', query: { peer } });
  if (args.json) {
    printJson(info);
    return;
  }
  if (info.state === 'already-paired') {
    printLine(`already paired with ${describe(info)}: each side trusts the other`);
    return;
  }
  if (info.code === null) throw notPaired(info);
  printLine(`pairing with ${describe(info)} at ${info.address}`);
  printLine(`verification code: ${formatCode(info.code)}`);
  if (process.stdin.isTTY === true && process.stdout.isTTY === true) {
    await confirmOnTerminal(client, info);
    return;
  }
  const self = await client.json<StatusResponse>({ method: 'GET', path: '/v1/status' });
  printLine(`check that ${info.name || 'the peer'} shows the same code (\`clipsync pair --pending\` there), then accept on both sides:`);
  printLine(`  here:    clipsync pair --accept ${info.fingerprint}`);
  printLine(`  there:   clipsync pair --accept ${self.fingerprint}`);
  printLine(`the request expires in ${info.expiresInSec} s; if the codes differ: clipsync pair --reject ${info.fingerprint}`);
}

/** Numeric comparison on a terminal: a yes accepts and waits for the other side, anything else rejects. */
async function confirmOnTerminal(client: IpcClient, info: PairingInfo): Promise<void> {
  printLine(`check that ${info.name || 'the peer'} shows the same code (\`clipsync pair --pending\` there)`);
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  let answer: string;
  try {
    answer = await prompt.question('Do the codes match? [y/N] ');
  } finally {
    prompt.close();
  }
  if (!/^y(es)?$/i.test(answer.trim())) {
    await client.json<PairingInfo>({ method: 'POST', path: '/v1/pair/reject', query: { peer: info.fingerprint } });
    throw fail('CLIPSYNC_ERR_PAIRING', `not paired: the codes were not confirmed, so the request of ${describe(info)} was rejected`);
  }
  const accepted = await client.json<PairingInfo>({ method: 'POST', path: '/v1/pair/accept', query: { peer: info.fingerprint } });
  if (!isDone(accepted)) {
    printLine(`waiting for ${info.name || 'the peer'} to accept (expires in ${accepted.expiresInSec} s)…`);
  }
  const final = isDone(accepted) ? accepted : await client.json<PairingInfo>({ method: 'GET', path: '/v1/pair/wait', query: { peer: info.fingerprint } });
  reportFinal(final);
}

async function accept(client: IpcClient, args: PairArgs, peer: string): Promise<void> {
  const info = await client.json<PairingInfo>({ method: 'POST', path: '/v1/pair/accept', query: { peer, wait: args.wait ? '1' : undefined } });
  if (args.json) printJson(info);
  if (info.state === 'pending') {
    if (!args.json) printLine(`accepted; waiting for ${describe(info)} to accept (expires in ${info.expiresInSec} s)`);
    return;
  }
  if (args.json) {
    if (!isSuccess(info)) throw notPaired(info);
    return;
  }
  reportFinal(info);
}

async function reject(client: IpcClient, args: PairArgs, peer: string): Promise<void> {
  const info = await client.json<PairingInfo>({ method: 'POST', path: '/v1/pair/reject', query: { peer } });
  if (args.json) printJson(info);
  else printLine(`rejected the pairing request of ${describe(info)}; nothing was trusted`);
}

function reportFinal(info: PairingInfo): void {
  if (!isSuccess(info)) throw notPaired(info);
  printLine(info.state === 'paired' ? `paired with ${describe(info)}; it is now in trusted_keys` : `already paired with ${describe(info)}`);
}

function isDone(info: PairingInfo): boolean {
  return info.state !== 'exchanging' && info.state !== 'pending' && info.state !== 'completing';
}

function isSuccess(info: PairingInfo): boolean {
  return info.state === 'paired' || info.state === 'already-paired';
}

function notPaired(info: PairingInfo): Error {
  return fail('CLIPSYNC_ERR_PAIRING', `not paired with ${describe(info)}: ${info.state}${info.detail !== null ? ` (${info.detail})` : ''}`, {
    hint: info.state === 'expired' || info.state === 'rejected' ? 'nothing was trusted; start again with `clipsync pair`' : undefined,
  });
}

function waitingFor(p: PairingInfo): string {
  if (p.code === null) return 'code';
  if (!p.acceptedHere && !p.acceptedByPeer) return 'both sides';
  return p.acceptedHere ? 'the peer' : 'you (--accept)';
}

/** `123456` → `123 456`: easier to read aloud and to compare at a glance. */
function formatCode(code: string): string {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

function describe(info: PairingInfo): string {
  return `${info.name || '(unnamed)'} (${info.fingerprint})`;
}
