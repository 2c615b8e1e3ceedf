import ssh2 from 'ssh2';
import { fail, messageOf } from '../core/errors.js';
import type { Identity, Signature } from './identity.js';
import { PublicKey, isSupportedKeyType, signatureAlgorithmFor } from './public-key.js';

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
  const agent = new ssh2.OpenSSHAgent(socketPath);
  const parsed = await new Promise<ssh2.ParsedKey[]>((resolve, reject) => {
    // OpenSSHAgent hands back parsed keys; the wider callback type also allows other entries.
    agent.getIdentities((err, keys) => (err ? reject(err) : resolve((keys ?? []) as ssh2.ParsedKey[])));
  }).catch((err: unknown) => {
    throw fail('CLIPSYNC_ERR_IDENTITY', `cannot talk to ssh-agent at ${socketPath}: ${messageOf(err)}`, { hint: AGENT_HINT });
  });
  const usable: PublicKey[] = [];
  for (const key of parsed) {
    if (!isSupportedKeyType(key.type)) continue;
    try {
      usable.push(PublicKey.fromBlob(key.getPublicSSH(), key.comment));
    } catch {
      // too-short RSA and the like: not usable as an identity
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
  const options = publicKey.type === 'ssh-rsa' ? { hash: 'sha512' as const } : {};
  return {
    publicKey,
    source: `ssh-agent (${source})`,
    sign(data: Buffer): Promise<Signature> {
      // A fresh connection per signature: the agent may have restarted since the last one.
      const agent = new ssh2.OpenSSHAgent(socketPath);
      return new Promise((resolve, reject) => {
        agent.sign(publicKey.blob, data, options, (err, signature) => {
          if (err || signature === undefined) {
            reject(fail('CLIPSYNC_ERR_IDENTITY', `ssh-agent refused to sign: ${err ? messageOf(err) : 'no signature'}`, { hint: AGENT_HINT }));
          } else resolve({ algorithm, signature });
        });
      });
    },
  };
}
