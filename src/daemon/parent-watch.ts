/** How often a daemon started by `npm start` looks whether npm is still there. */
const PARENT_CHECK_MS = 5000;

/**
 * `npm start` runs the daemon as npm's child (the start script `exec`s node, so no shell sits
 * between them and npm hands SIGTERM and SIGINT straight on). But an npm that is itself killed
 * with SIGKILL (a supervisor's last resort, the OOM killer) passes nothing on, and the daemon
 * would live on under init. So a daemon that npm started looks every 5 s whether its parent is
 * still the one it started under — one getppid(2), nothing allocated — and stops when not. Any
 * other daemon (systemd, launchd, a terminal) has no such timer.
 */
export function stopWithParent(env: NodeJS.ProcessEnv, onGone: () => void): () => void {
  if (env['npm_lifecycle_event'] !== 'start') return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
