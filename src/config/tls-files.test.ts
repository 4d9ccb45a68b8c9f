import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { formatKeyPath } from './errors.ts';
import { readCaBundle, readTlsPair, tlsFileIssues } from './tls-files.ts';

const data = fileURLToPath(new URL('./testdata/', import.meta.url));
const file = (name: string): string => join(data, name);

/** A fresh directory, removed when the test ends. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-tls-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `path: message` lines of tlsFileIssues. */
function lines(raw: unknown, dir = data): string[] {
  return tlsFileIssues(raw, dir).map((i) => `${formatKeyPath(i.path)}: ${i.message}`);
}

describe('readTlsPair', () => {
  it('returns the PEM bytes of a full chain and its key', () => {
    const pair = readTlsPair(file('localhost.crt'), file('localhost.key'));
    expect(pair.ok).toBe(true);
    if (pair.ok) {
      expect(pair.cert.equals(readFileSync(file('localhost.crt')))).toBe(true);
      expect(pair.key.equals(readFileSync(file('localhost.key')))).toBe(true);
    }
  });

  it('says which file is wrong and why', () => {
    expect(readTlsPair(file('localhost.crt'), file('other.key'))).toEqual({
      ok: false,
      field: 'key',
      message: `${file('other.key')} does not match the certificate in ${file('localhost.crt')} (the first certificate of that file)`,
    });
    expect(readTlsPair(file('missing.crt'), file('localhost.key'))).toEqual({ ok: false, field: 'cert', message: `cannot read ${file('missing.crt')}: no such file` });
    expect(readTlsPair(file('localhost.key'), file('localhost.key'))).toEqual({
      ok: false,
      field: 'cert',
      message: `${file('localhost.key')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    });
    expect(readTlsPair(file('localhost.crt'), file('ca.crt'))).toEqual({ ok: false, field: 'key', message: `${file('ca.crt')} holds no valid PEM private key` });
    expect(readTlsPair(file('localhost.crt'), file('encrypted.key'))).toEqual({
      ok: false,
      field: 'key',
      message: `${file('encrypted.key')} holds an encrypted private key; Fairway needs it unencrypted`,
    });
    expect(readTlsPair(data, file('localhost.key'))).toMatchObject({ ok: false, field: 'cert', message: `cannot read ${data}: it is a directory` });
  });

  it('checks the key against the first certificate of the file (the leaf), not the CA after it', () => {
    const dir = tempDir();
    const caFirst = join(dir, 'ca-first.crt');
    const [leaf, ca] = readFileSync(file('localhost.crt'), 'latin1').split(/(?<=-----END CERTIFICATE-----\n)/);
    writeFileSync(caFirst, `${ca}${leaf}`);
    expect(readTlsPair(caFirst, file('localhost.key'))).toMatchObject({ ok: false, field: 'key' });
  });

  it('names a damaged certificate by its place in the chain', () => {
    const dir = tempDir();
    const broken = join(dir, 'broken.crt');
    const text = readFileSync(file('localhost.crt'), 'latin1');
    // Corrupt the second block's body: still a PEM block, no longer a certificate.
    const second = text.indexOf('-----BEGIN CERTIFICATE-----', 10) + '-----BEGIN CERTIFICATE-----\n'.length;
    writeFileSync(broken, `${text.slice(0, second)}AAAA${text.slice(second + 4)}`);
    expect(readTlsPair(broken, file('localhost.key'))).toEqual({ ok: false, field: 'cert', message: `${broken}: certificate 2 of 2 is not a valid PEM certificate` });
  });
});

describe('readCaBundle', () => {
  it('accepts one or more certificates and refuses a file without any', () => {
    expect(readCaBundle(file('ca.crt')).ok).toBe(true);
    expect(readCaBundle(file('localhost.crt')).ok).toBe(true);
    expect(readCaBundle(file('other.key'))).toEqual({ ok: false, message: `${file('other.key')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
  });
});

describe('tlsFileIssues', () => {
  const upstreams = ['https://127.0.0.1:3001'];

  it('finds nothing wrong with good files, relative to the config directory', () => {
    expect(
      lines({
        listen: [':0', { address: ':0', tls: { certificates: [{ cert: 'localhost.crt', key: 'localhost.key' }] } }],
        pools: { api: { upstreams, tls: { ca: 'ca.crt', cert: 'localhost.crt', key: 'localhost.key' } } },
      }),
    ).toEqual([]);
  });

  it('resolves relative paths against the given directory, not the working directory', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tls'));
    copyFileSync(file('localhost.crt'), join(dir, 'tls', 'site.crt'));
    copyFileSync(file('localhost.key'), join(dir, 'tls', 'site.key'));
    const raw = { listen: { address: ':0', tls: { certificates: [{ cert: 'tls/site.crt', key: 'tls/site.key' }] } } };
    expect(lines(raw, dir)).toEqual([]);
    expect(lines(raw, data)).toEqual([
      `listen.tls.certificates[0].cert: cannot read ${join(data, 'tls/site.crt')}: no such file`,
      `listen.tls.certificates[0].key: cannot read ${join(data, 'tls/site.key')}: no such file`,
    ]);
  });

  it('reports each bad file at its key, and a mismatch only when both files are good', () => {
    expect(
      lines({
        listen: [
          {
            address: ':0',
            tls: {
              certificates: [
                { cert: 'localhost.crt', key: 'other.key' },
                { cert: 'other.key', key: 'nope.key' },
                { cert: 'ca.crt' }, // the schema reports the missing key; the cert alone is not judged
              ],
            },
          },
        ],
        pools: {
          api: { upstreams, tls: { ca: 'localhost.key', cert: 'localhost.crt' } },
          web: { upstreams, tls: { key: 'encrypted.key' } },
        },
      }),
    ).toEqual([
      `listen[0].tls.certificates[0].key: ${file('other.key')} does not match the certificate in ${file('localhost.crt')} (the first certificate of that file)`,
      `listen[0].tls.certificates[1].cert: ${file('other.key')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      `listen[0].tls.certificates[1].key: cannot read ${file('nope.key')}: no such file`,
      `pools.api.tls.ca: ${file('localhost.key')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      `pools.web.tls.key: ${file('encrypted.key')} holds an encrypted private key; Fairway needs it unencrypted`,
    ]);
  });

  it('skips what the schema rejects and what is not there', () => {
    expect(lines({ listen: { address: ':0', tls: { certificates: [{ cert: 5, key: '' }] } }, pools: { api: { tls: { ca: 7 } } } })).toEqual([]);
    expect(lines(null)).toEqual([]);
    expect(lines({ listen: ':0', pools: [] })).toEqual([]);
  });
});
