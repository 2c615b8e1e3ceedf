import { execFileSync } from 'node:child_process';

/**
 * Which of the tools a test needs are missing, as a message naming the Debian packages to
 * install. In CI nothing may be skipped, so there the caller turns this into a failure.
 */
export function missingTools(tools: Record<string, string>): string | undefined {
  const missing = Object.entries(tools).filter(([tool]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  return `needs ${missing.map(([tool]) => tool).join(', ')}: install with \`apt-get install ${packages}\``;
}

/** Skips (with the reason printed) outside CI; fails in CI, where every test must run. */
export function skipUnlessTools(tools: Record<string, string>): boolean {
  const reason = missingTools(tools);
  if (reason === undefined) return false;
  if (process.env['CI']) throw new Error(`CI must run every test, but this one ${reason}`);
  console.warn(`skipping: ${reason}`);
  return true;
}
