// A throwaway OpenSSH server on loopback for the baselines: the tool users would otherwise
// reach for to move a file between their machines (`ssh host 'cat > FILE' < FILE`).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ciphers the baselines run with: OpenSSH's default, and the fastest where AES-NI exists. */
export const SSH_CIPHERS = [
  ['default cipher', []],
  ['aes128-gcm', ['-c', 'aes128-gcm@openssh.com']],
];

/**
 * Starts sshd on a random loopback port with keys made here, trusting only its own client
 * key. Resolves with the ssh arguments to reach it (`base`, before the host), or with
 * `missing` when openssh-server is not installed.
 */
export async function startSshd(dir) {
  const sshd = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p));
  if (sshd === undefined) return { missing: 'openssh-server is not installed (apt-get install openssh-server)' };
  const key = join(dir, 'client_key');
  const hostKey = join(dir, 'host_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const authorized = join(dir, 'authorized_keys');
  execFileSync('cp', [`${key}.pub`, authorized]);
  execFileSync('chmod', ['600', authorized]);
  const port = 22000 + Math.floor(Math.random() * 20000);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'PidFile none',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const daemon = spawn(sshd, ['-D', '-e', '-f', config], { stdio: 'ignore' });
  const base = ['-p', String(port), '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
  // Ready when a connection gets through (sshd has no readiness signal of its own here).
  for (let i = 0; ; i++) {
    try {
      execFileSync('ssh', [...base, '127.0.0.1', 'true'], { stdio: 'ignore' });
      break;
    } catch (err) {
      if (i > 50) {
        daemon.kill();
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { sshd, config, port, base, stop: () => daemon.kill() };
}
