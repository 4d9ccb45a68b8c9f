import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { formatKeyPath } from './errors.ts';
import { tlsFileIssues } from './tls-files.ts';

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

/** The problems of one listener certificate pair (paths as written, relative to `dir`). */
function pair(cert: string, key: string, dir = data): string[] {
  return lines({ listen: { address: ':0', tls: { certificates: [{ cert, key }] } } }, dir);
}

/** The two certificates of testdata/localhost.crt: the leaf, then the CA. */
function leafAndCa(): [string, string] {
  const [leaf = '', ca = ''] = readFileSync(file('localhost.crt'), 'latin1').split(/(?<=-----END CERTIFICATE-----\n)/);
  return [leaf, ca];
}

const at = 'listen.tls.certificates[0]';

describe('tlsFileIssues: listener certificates', () => {
  it('finds nothing wrong with a full chain and its key, or with good files anywhere else', () => {
    expect(pair('localhost.crt', 'localhost.key')).toEqual([]);
    expect(
      lines({
        listen: [':0', { address: ':0', tls: { certificates: [{ cert: file('localhost.crt'), key: './localhost.key' }] } }],
        pools: { api: { upstreams: ['https://127.0.0.1:3001'], tls: { ca: 'ca.crt', cert: 'localhost.crt', key: 'localhost.key' } } },
      }),
    ).toEqual([]);
  });

  it('says which file is wrong and why, at its key', () => {
    expect(pair('localhost.crt', 'other.key')).toEqual([`${at}.key: ${file('other.key')} does not match the certificate in ${file('localhost.crt')}`]);
    expect(pair('missing.crt', 'localhost.key')).toEqual([`${at}.cert: cannot read ${file('missing.crt')}: no such file`]);
    expect(pair('localhost.key', 'localhost.crt')).toEqual([
      `${at}.cert: ${file('localhost.key')} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----"); it holds a private key: are cert and key swapped?`,
      `${at}.key: ${file('localhost.crt')} holds no PEM private key (expected "-----BEGIN PRIVATE KEY-----"); it holds a certificate: are cert and key swapped?`,
    ]);
    expect(pair('localhost.crt', 'encrypted.key')).toEqual([
      `${at}.key: ${file('encrypted.key')} is an encrypted private key; decrypt it first (openssl pkey -in KEY -out PLAIN)`,
    ]);
    expect(pair('.', 'localhost.key')).toEqual([`${at}.cert: cannot read ${data.replace(/\/$/, '')}: it is a directory`]);
  });

  it('matches the key against the first certificate (the leaf), and says so when the order is wrong', () => {
    const dir = tempDir();
    const [leaf, ca] = leafAndCa();
    writeFileSync(join(dir, 'ca-first.crt'), `${ca}${leaf}`);
    copyFileSync(file('localhost.key'), join(dir, 'site.key'));
    expect(pair('ca-first.crt', 'site.key', dir)).toEqual([
      `${at}.key: ${join(dir, 'site.key')} does not match the certificate in ${join(dir, 'ca-first.crt')} (it matches certificate 2 in the file: the leaf must come first)`,
    ]);
  });

  it('names a damaged certificate by its place in the chain', () => {
    const dir = tempDir();
    const [leaf, ca] = leafAndCa();
    // Still a PEM block, no longer a certificate.
    const body = ca.indexOf('\n') + 1;
    writeFileSync(join(dir, 'broken.crt'), `${leaf}${ca.slice(0, body)}AAAA${ca.slice(body + 4)}`);
    const [line, ...more] = pair(join(dir, 'broken.crt'), file('localhost.key'));
    expect(line).toMatch(new RegExp(`^${at.replace(/[.[\]]/g, '\\$&')}\\.cert: ${join(dir, 'broken.crt')}: certificate 2 of 2 is not valid PEM: \\S`));
    expect(more).toEqual([]);
  });

  it('resolves relative paths against the given directory, not the working directory', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tls'));
    copyFileSync(file('localhost.crt'), join(dir, 'tls', 'site.crt'));
    copyFileSync(file('localhost.key'), join(dir, 'tls', 'site.key'));
    expect(pair('tls/site.crt', 'tls/site.key', dir)).toEqual([]);
    expect(pair('tls/site.crt', 'tls/site.key', data)).toEqual([
      `${at}.cert: cannot read ${join(data, 'tls/site.crt')}: no such file`,
      `${at}.key: cannot read ${join(data, 'tls/site.key')}: no such file`,
    ]);
  });
});

describe('tlsFileIssues: upstream TLS and what is skipped', () => {
  it('checks the CA bundle and each half of a client certificate on its own', () => {
    expect(
      lines({
        listen: [{ address: ':0', tls: { certificates: [{ cert: 'other.key', key: 'nope.key' }, { cert: 'ca.crt' }] } }],
        pools: {
          api: { upstreams: ['https://127.0.0.1:3001'], tls: { ca: 'localhost.key', cert: 'localhost.crt' } },
          web: { upstreams: ['https://127.0.0.1:3002'], tls: { key: 'encrypted.key' } },
          ok: { upstreams: ['https://127.0.0.1:3003'], tls: { ca: 'localhost.crt' } }, // a chain is a valid bundle too
        },
      }),
    ).toEqual([
      `listen[0].tls.certificates[0].cert: ${file('other.key')} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----"); it holds a private key: are cert and key swapped?`,
      `listen[0].tls.certificates[0].key: cannot read ${file('nope.key')}: no such file`,
      `pools.api.tls.ca: ${file('localhost.key')} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----"); it holds a private key: are cert and key swapped?`,
      `pools.web.tls.key: ${file('encrypted.key')} is an encrypted private key; decrypt it first (openssl pkey -in KEY -out PLAIN)`,
    ]);
  });

  it('skips what the schema rejects and what is not there', () => {
    expect(lines({ listen: { address: ':0', tls: { certificates: [{ cert: 5, key: '' }] } }, pools: { api: { tls: { ca: 7 } } } })).toEqual([]);
    expect(lines(null)).toEqual([]);
    expect(lines({ listen: ':0', pools: [] })).toEqual([]);
  });
});
