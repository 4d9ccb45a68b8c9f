// Keeps memory flat while large bodies are relayed, responses and streamed request bodies alike.
// Each socket read brings a new ~64 KiB buffer outside the JS heap; relaying makes almost no JS
// garbage, so young-generation collections hardly run and dead chunks pile up until V8's
// external-memory limit (~64 MiB) forces a full collection. A minor collection every
// RELAY_GC_STEP bytes relayed frees them in step (measured in docs/edge.md §7: 200 MiB fast reader
// +70 MiB RSS → +22 MiB; 50 × 20 MiB +68–96 MiB → +28–36 MiB; a 200 MiB upload +67–79 MiB →
// +14–17 MiB). Nothing here runs on a request that relays less than the step.

import type { Readable } from 'node:stream';
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

function onRelayedChunk(chunk: Buffer): void {
  noteRelayed(chunk.length);
}

/**
 * Counts a streamed request body's chunks as they go upstream (an upload makes the same garbage
 * as a download). Leaves the stream paused, so nothing is read before its consumer resumes it:
 * a `data` listener does not start a stream that was paused. One listener per streamed body.
 */
export function noteRelayedStream(body: Readable): void {
  if (body.readableFlowing !== true) body.pause();
  body.on('data', onRelayedChunk);
}
