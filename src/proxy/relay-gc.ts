// Keeps memory flat while large bodies are relayed. Each upstream socket read brings a new
// ~64 KiB buffer outside the JS heap; relaying makes almost no JS garbage, so young-generation
// collections hardly run and dead chunks pile up until V8's external-memory limit (~64 MiB)
// forces a full collection. A minor collection every RELAY_GC_STEP bytes relayed frees them in
// step (measured in docs/edge.md §7: 200 MiB fast reader +70 MiB RSS → +22 MiB; 50 × 20 MiB
// +68–96 MiB → +28–36 MiB). Nothing here runs on a request that relays less than the step.

import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/** Bytes relayed between two forced minor collections. */
export const RELAY_GC_STEP = 8 * 1024 * 1024;

let gc: Gc | null = null;
try {
  // Only the fresh context sees `gc`; the flag is turned off again right after.
  v8.setFlagsFromString('--expose-gc');
  gc = vm.runInNewContext('gc') as Gc;
  v8.setFlagsFromString('--no-expose-gc');
} catch {
  gc = null;
}
let sinceGc = 0;

/** Counts relayed bytes; a synchronous minor GC every RELAY_GC_STEP. O(1), allocates nothing. */
export function noteRelayed(bytes: number): void {
  sinceGc += bytes;
  if (sinceGc < RELAY_GC_STEP) return;
  sinceGc = 0;
  gc?.({ type: 'minor' });
}
