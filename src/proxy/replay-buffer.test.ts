// The retry buffer: a body within the limit becomes one replayable Buffer; a larger one comes
// back as the stream itself with nothing lost; a client that leaves gives null; the streaming
// size limit fails with its own code. Streams in memory, no network.
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { collectBody, limitBody } from './replay-buffer.ts';

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('collectBody', () => {
  it('returns the whole body as one Buffer when it fits', async () => {
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def')]);
    const out = await collectBody(body, 6);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out!.toString()).toBe('abcdef');
  });

  it('hands back the stream itself, bytes read so far first, once the body outgrows the limit', async () => {
    const body = new PassThrough();
    const pending = collectBody(body, 4);
    body.write('abc');
    body.write('defg');
    const out = await pending;
    expect(out).toBe(body);
    body.end('hij');
    expect((await readAll(out as Readable)).toString()).toBe('abcdefghij');
  });

  it('gives null when the client goes away before the end', async () => {
    const body = new PassThrough();
    const pending = collectBody(body, 100);
    body.write('ab');
    body.destroy();
    expect(await pending).toBeNull();
  });
});

describe('limitBody', () => {
  it('passes a body up to the limit and fails with FAIRWAY_BODY_TOO_LARGE beyond it', async () => {
    expect((await readAll(limitBody(Readable.from([Buffer.from('12345')]), 5))).toString()).toBe('12345');
    const over = limitBody(Readable.from([Buffer.from('1234'), Buffer.from('56')]), 5);
    await expect(readAll(over)).rejects.toMatchObject({ code: 'FAIRWAY_BODY_TOO_LARGE' });
  });
});
