import { fail, messageOf } from '../core/errors.js';
import { agentIdentities, agentSign, SSH_AGENT_RSA_SHA2_512 } from './ssh-agent-client.js';
import type { Identity, Signature } from './identity.js';
import { PublicKey, signatureAlgorithmFor } from './public-key.js';

const AGENT_HINT = 'start an agent and add the key: `eval "$(ssh-agent)"` then `ssh-add PATH`';

/** The agent socket from the environment, or a clear error saying how to get one. */
export function agentSocketFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const socket = env['SSH_AUTH_SOCK'];
  if (socket === undefined || socket === '') {
    throw fail('CLIPSYNC_ERR_IDENTITY', 'the identity is held in ssh-agent, but SSH_AUTH_SOCK is not set', { hint: AGENT_HINT });
  }
  return socket;
}

/** The keys an agent holds that clipsync can use, ed25519 first. */
export async function listAgentKeys(socketPath: string): Promise<PublicKey[]> {
  const held = await agentIdentities(socketPath).catch((err: unknown) => {
    throw fail('CLIPSYNC_ERR_IDENTITY', `cannot talk to ssh-agent at ${socketPath}: ${messageOf(err)}`, { hint: AGENT_HINT });
  });
  const usable: PublicKey[] = [];
  for (const key of held) {
    try {
      usable.push(PublicKey.fromBlob(key.blob, key.comment));
    } catch {
      // DSA, security keys, too-short RSA and the like: not usable as an identity
    }
  }
  return usable.sort((a, b) => Number(b.type === 'ssh-ed25519') - Number(a.type === 'ssh-ed25519'));
}

/**
 * An identity whose private key never leaves ssh-agent: every signature is a request to the
 * agent (RFC draft-miller-ssh-agent, SSH_AGENTC_SIGN_REQUEST), with the SHA-2 flag for RSA.
 * The agent's answer is already in SSH signature encoding, which is what peers expect.
 */
export async function loadAgentIdentity(socketPath: string, publicKey: PublicKey, source: string): Promise<Identity> {
  const held = await listAgentKeys(socketPath);
  if (!held.some((k) => k.fingerprint === publicKey.fingerprint)) {
    throw fail('CLIPSYNC_ERR_IDENTITY', `ssh-agent does not hold the identity key ${publicKey.fingerprint}`, {
      hint: 'add it with `ssh-add PATH` (the private key beside the .pub), then start clipsync again',
    });
  }
  const algorithm = signatureAlgorithmFor(publicKey.type);
  const flags = publicKey.type === 'ssh-rsa' ? SSH_AGENT_RSA_SHA2_512 : 0;
  return {
    publicKey,
    source: `ssh-agent (${source})`,
    async sign(data: Buffer): Promise<Signature> {
      // A fresh connection per signature: the agent may have restarted since the last one.
      const signed = await agentSign(socketPath, publicKey.blob, data, flags).catch((err: unknown) => {
        throw fail('CLIPSYNC_ERR_IDENTITY', `ssh-agent refused to sign: ${messageOf(err)}`, { hint: AGENT_HINT });
      });
      // An agent too old for SHA-2 answers with a SHA-1 ssh-rsa signature, which peers refuse.
      if (signed.algorithm !== algorithm) {
        throw fail('CLIPSYNC_ERR_IDENTITY', `ssh-agent signed with ${signed.algorithm}, not ${algorithm}`, { hint: 'use a newer ssh-agent (OpenSSH 7.2 or later)' });
      }
      return { algorithm, signature: signed.signature };
    },
  };
}
