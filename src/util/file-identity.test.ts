import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeSecretDir } from '../../test/helpers/certs.ts';
import { fileIdentity } from './file-identity.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fairway-ident-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('fileIdentity', () => {
  it('is stable while nothing changes', async () => {
    const f = path.join(dir, 'a.pem');
    await writeFile(f, 'one');
    expect(await fileIdentity(f)).toBe(await fileIdentity(f));
  });

  it('changes when a new file is renamed into place, even with the same size', async () => {
    const f = path.join(dir, 'a.pem');
    await writeFile(f, 'one');
    const before = await fileIdentity(f);
    await writeFile(path.join(dir, 'a.tmp'), 'two');
    await rename(path.join(dir, 'a.tmp'), f);
    expect(await fileIdentity(f)).not.toBe(before);
  });

  it('changes when the file is rewritten in place with another size', async () => {
    const f = path.join(dir, 'a.pem');
    await writeFile(f, 'one');
    const before = await fileIdentity(f);
    await writeFile(f, 'three');
    expect(await fileIdentity(f)).not.toBe(before);
  });

  it('follows a Kubernetes ..data symlink swap (file → ..data/file → ..generation dir), same contents', async () => {
    const same = { certFile: '', keyFile: '', certPem: 'same', keyPem: 'same' };
    const secret = await kubeSecretDir(path.join(dir, 'secret'), same);
    const before = await fileIdentity(secret.certFile);
    expect(before.startsWith(path.join(dir, 'secret', '..gen_1', 'tls.crt'))).toBe(true);
    await secret.update(same);
    const after = await fileIdentity(secret.certFile);
    expect(after).not.toBe(before);
    expect(after.startsWith(path.join(dir, 'secret', '..gen_2', 'tls.crt'))).toBe(true);
  });

  it('reports a missing file (and its return) as changes', async () => {
    const f = path.join(dir, 'a.pem');
    await writeFile(f, 'one');
    const present = await fileIdentity(f);
    await unlink(f);
    const missing = await fileIdentity(f);
    expect(missing).toBe('missing|ENOENT');
    await writeFile(f, 'one');
    expect(await fileIdentity(f)).not.toBe(missing);
    expect(present).not.toBe(missing);
  });
});
