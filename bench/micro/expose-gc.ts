// Makes `globalThis.gc` available without a command-line flag, for benches that want a clean
// heap before measuring. Import it first. Owns nothing else.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

if (typeof globalThis.gc !== 'function') {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: () => void }).gc = runInNewContext('gc') as () => void;
}

/** A full collection. */
export function fullGc(): void {
  globalThis.gc!();
}
