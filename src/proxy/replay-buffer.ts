// Bounded capture of a request body so a failed try can send it again. A body that fits in
// the limit becomes one Buffer (replayable); a larger one is handed back as the original
// stream with what was read pushed back in front (streamed once, not replayable).

import { Transform, type Readable } from 'node:stream';

/** A whole body that fit the limit, or the stream itself when it did not. */
export type CollectResult = Buffer | Readable;

/**
 * Reads `body` until it ends or more than `limitBytes` arrived. Resolves with a Buffer (the whole
 * body), or with `body` itself, paused, the bytes read so far pushed back in front (to be
 * streamed once); null when the client went away first. Never rejects.
 */
export function collectBody(body: Readable, limitBytes: number): Promise<CollectResult | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onGone);
      body.off('close', onGone);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= limitBytes) return;
      cleanup();
      body.pause();
      body.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      resolve(body);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onGone = (): void => {
      cleanup();
      resolve(null);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onGone);
    body.on('close', onGone);
  });
}

/**
 * A pass-through that fails with code FAIRWAY_BODY_TOO_LARGE once more than `maxBytes` went
 * through: the size limit for request bodies without Content-Length (a declared length is
 * checked before anything is read). Only used when a limit is configured.
 */
export function limitBody(source: Readable, maxBytes: number): Transform {
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
