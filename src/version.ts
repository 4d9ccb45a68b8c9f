// The package version, read once from package.json (the CLI's --version, /status, metrics).

import { readFileSync } from 'node:fs';

let cached: string | null | undefined;

/** The version in package.json, or null when it cannot be read. */
export function packageVersion(): string | null {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cached = typeof pkg.version === 'string' ? pkg.version : null;
    } catch {
      cached = null;
    }
  }
  return cached;
}
