// What "this file changed" means for files that are replaced rather than edited: the resolved
// path plus device, inode, mtime and size. A Kubernetes Secret/ConfigMap update swaps the
// `..data` symlink to a new directory (new realpath and inode, often the same mtime), and
// cert-manager or an editor renames a new file into place (new inode); both change this string.
// It does not read contents and does not poll: callers decide when to ask.

import { realpathSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';

function identityOf(real: string, s: Stats): string {
  return `${real}|${s.dev}:${s.ino}:${s.mtimeMs}:${s.size}`;
}

function missing(err: unknown): string {
  return `missing|${(err as NodeJS.ErrnoException).code ?? 'ERROR'}`;
}

/**
 * The identity of `file` now: `real path|dev:ino:mtimeMs:size`, or `missing|CODE` when it cannot
 * be resolved (so a file that disappears and comes back is seen as two changes). Two syscalls.
 */
export async function fileIdentity(file: string): Promise<string> {
  try {
    const real = await realpath(file);
    return identityOf(real, await stat(real));
  } catch (err) {
    return missing(err);
  }
}

/** fileIdentity, synchronously: for code that reads the file synchronously right after. */
export function fileIdentitySync(file: string): string {
  try {
    const real = realpathSync(file);
    return identityOf(real, statSync(real));
  } catch (err) {
    return missing(err);
  }
}
