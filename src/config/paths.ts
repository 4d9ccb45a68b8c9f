// Where the files a config names (certificates, keys, CA bundles, the access log) are: a
// relative path starts at the config file's directory, so a config and its certificates move
// together and a reload finds the same files whatever the process's working directory.

import { dirname, resolve } from 'node:path';

/**
 * The directory relative paths in a config start from: the config file's directory, or the
 * working directory for a config without a file (flags, a plain object). Always absolute.
 */
export function configDir(source: string | null): string {
  return source === null ? process.cwd() : dirname(resolve(source));
}

/** `written` as an absolute path: as is when absolute, else under `dir`. */
export function resolveIn(dir: string, written: string): string {
  return resolve(dir, written);
}
