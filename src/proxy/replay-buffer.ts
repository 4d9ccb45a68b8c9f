// Bounded capture of a request body so a failed try can send it again. A body that fits in
// the limit becomes one Buffer (replayable); a larger one is handed back as the original
// stream with what was read pushed back in front (streamed once, not replayable).

import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';

export type CollectResult = Buffer | IncomingMessage;

/**
 * Reads `req` until it ends or more than `limitBytes` arrived. Calls `done` once with a Buffer
 * (the whole body) or with `req` itself, paused, with the bytes read so far unshifted back.
 * `done(null)` when the client went away first.
 */
export function collectBody(req: IncomingMessage, limitBytes: number, done: (body: CollectResult | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;

  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onGone);
    req.off('close', onGone);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limitBytes) {
      settled = true;
      cleanup();
      req.pause();
      req.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      done(req);
    }
  };
  const onEnd = (): void => {
    if (settled) return;
    settled = true;
    cleanup();
    done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  const onGone = (): void => {
    if (settled) return;
    settled = true;
    cleanup();
    done(null);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onGone);
  req.on('close', onGone);
}

/**
 * A pass-through that fails with code FAIRWAY_BODY_TOO_LARGE once more than `maxBytes` went
 * through: the size limit for request bodies without Content-Length (a declared length is
 * checked before anything is read). Only used when a limit is configured.
 */
export function limitBody(source: IncomingMessage, maxBytes: number): Transform {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) {
        cb(Object.assign(new Error(`request body larger than ${maxBytes} bytes`), { code: 'FAIRWAY_BODY_TOO_LARGE' }));
        return;
      }
      cb(null, chunk);
    },
  });
  source.on('error', (err) => limiter.destroy(err));
  source.pipe(limiter);
  return limiter;
}
