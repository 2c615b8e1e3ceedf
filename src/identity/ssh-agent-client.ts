import { createConnection } from 'node:net';
import { SshReader, sshString, uint32 } from './ssh-wire.js';

/**
 * The two ssh-agent requests clipsync makes (draft-miller-ssh-agent): list the keys, and sign
 * with one. Each request is a connection of its own: the agent may have restarted since the
 * last one, and a daemon signs only when a peer connects.
 */

const SSH_AGENT_FAILURE = 5;
const SSH2_AGENTC_REQUEST_IDENTITIES = 11;
const SSH2_AGENT_IDENTITIES_ANSWER = 12;
const SSH2_AGENTC_SIGN_REQUEST = 13;
const SSH2_AGENT_SIGN_RESPONSE = 14;
/** Sign flag: an RSA key signs with rsa-sha2-512 rather than SHA-1. */
export const SSH_AGENT_RSA_SHA2_512 = 4;
/** Far above any real answer (a few keys, one signature): a larger length is a broken agent. */
const MAX_MESSAGE_BYTES = 256 * 1024;

/** The public key blobs and comments the agent holds, in its order. */
export async function agentIdentities(socketPath: string): Promise<{ blob: Buffer; comment: string }[]> {
  const reader = await request(socketPath, SSH2_AGENTC_REQUEST_IDENTITIES, Buffer.alloc(0), SSH2_AGENT_IDENTITIES_ANSWER);
  const count = reader.uint32();
  const keys: { blob: Buffer; comment: string }[] = [];
  for (let i = 0; i < count; i++) keys.push({ blob: reader.string(), comment: reader.text() });
  return keys;
}

/** The agent's signature of `data` with the key `blob`: its algorithm name and its signature bytes. */
export async function agentSign(socketPath: string, blob: Buffer, data: Buffer, flags: number): Promise<{ algorithm: string; signature: Buffer }> {
  const reader = await request(socketPath, SSH2_AGENTC_SIGN_REQUEST, Buffer.concat([sshString(blob), sshString(data), uint32(flags)]), SSH2_AGENT_SIGN_RESPONSE);
  const signature = new SshReader(reader.string(), "the agent's signature");
  return { algorithm: signature.text(), signature: signature.string() };
}

/** Sends one message and reads the one answer; rejects on SSH_AGENT_FAILURE, a closed socket or a malformed answer. */
function request(socketPath: string, type: number, payload: Buffer, expected: number): Promise<SshReader> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let received = Buffer.alloc(0);
    const finish = (err: Error | undefined, answer?: SshReader): void => {
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(answer!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('the agent closed the connection without answering')));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUInt32BE(0);
      if (length < 1 || length > MAX_MESSAGE_BYTES) return finish(new Error(`the agent sent a message of ${length} bytes`));
      if (received.length < 4 + length) return;
      const answer = received.subarray(5, 4 + length);
      const answerType = received[4]!;
      if (answerType === SSH_AGENT_FAILURE) return finish(new Error('the agent answered with a failure'));
      if (answerType !== expected) return finish(new Error(`the agent answered with message type ${answerType}, not ${expected}`));
      finish(undefined, new SshReader(answer, "the agent's answer"));
    });
    socket.write(Buffer.concat([uint32(1 + payload.length), Buffer.from([type]), payload]));
  });
}
