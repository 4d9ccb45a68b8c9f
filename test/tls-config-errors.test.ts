// Every TLS config error through the real CLI: a missing file, an unreadable one, invalid PEM,
// an encrypted key, a key that does not match its certificate, a bad upstream CA, half a client
// pair. `fairway check` reports each at its key with file:line:col and exits 1; starting with
// the same file exits 1 with the same lines and never prints a listening line.

import { chmod, copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

const DATA = fileURLToPath(new URL('../src/config/testdata/', import.meta.url));
const pem = (name: string): string => path.join(DATA, name);

/** A temp dir holding the test PEM files plus a few broken ones; returns its path. */
async function fixtures(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fairway-tls-errors-'));
  for (const name of ['localhost.crt', 'localhost.key', 'other.key', 'encrypted.key', 'ca.crt']) await copyFile(pem(name), path.join(dir, name));
  await writeFile(path.join(dir, 'garbage.crt'), 'not a certificate\n');
  await writeFile(path.join(dir, 'truncated.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  await copyFile(pem('localhost.key'), path.join(dir, 'locked.key'));
  await chmod(path.join(dir, 'locked.key'), 0o000);
  return dir;
}

const CONFIG = [
  'listen:', //                                                                    1
  '  - address: 127.0.0.1:0', //                                                   2
  '    tls:', //                                                                   3
  '      certificates:', //                                                        4
  '        - cert: missing.crt', //                                                5  missing
  '          key: localhost.key', //                                               6
  '        - cert: garbage.crt', //                                                7  not PEM
  '          key: localhost.key', //                                               8
  '        - cert: truncated.crt', //                                              9  invalid PEM
  '          key: localhost.key', //                                              10
  '        - cert: localhost.crt', //                                             11
  '          key: other.key', //                                                  12  mismatch
  '        - cert: localhost.crt', //                                             13
  '          key: encrypted.key', //                                              14  encrypted
  '        - cert: localhost.crt', //                                             15
  '          key: .', //                                                          16  a directory
  'pools:', //                                                                    17
  '  web:', //                                                                    18
  '    upstreams: [https://127.0.0.1:3001]', //                                   19
  '    tls:', //                                                                  20
  '      ca: localhost.key', //                                                   21  a key, no certificate
  '      cert: localhost.crt', //                                                 22  cert without key
  '',
].join('\n');

describe('TLS config errors', () => {
  it('fairway check names every problem at its key with file:line:col; starting with it prints the same and starts nothing', async () => {
    const dir = await fixtures();
    const file = path.join(dir, 'fairway.yaml');
    await writeFile(file, CONFIG);
    const at = (name: string): string => path.join(dir, name);
    const expected = [
      `${file}:5:17 listen[0].tls.certificates[0].cert: cannot read ${at('missing.crt')}: no such file`,
      `${file}:7:17 listen[0].tls.certificates[1].cert: ${at('garbage.crt')} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`,
      `${file}:9:17 listen[0].tls.certificates[2].cert: ${at('truncated.crt')}: the certificate is not valid PEM:`,
      `${file}:12:16 listen[0].tls.certificates[3].key: ${at('other.key')} does not match the certificate in ${at('localhost.crt')}`,
      `${file}:14:16 listen[0].tls.certificates[4].key: ${at('encrypted.key')} is an encrypted private key; decrypt it first`,
      `${file}:16:16 listen[0].tls.certificates[5].key: cannot read ${dir}: it is a directory`,
      `${file}:21:11 pools.web.tls.ca: ${at('localhost.key')} holds no PEM certificate`,
      `${file}:22:13 pools.web.tls.cert: needs key too: mutual TLS takes a client certificate and its key`,
      'fairway: 8 problems in the config; nothing started',
    ];
    const check = await runCli(['check', '--config', file]);
    expect(check.code).toBe(1);
    expect(check.stdout).not.toContain('OK');
    for (const line of expected) expect(check.stderr, line).toContain(line);

    const start = await runCli(['--config', file]);
    expect(start.code).toBe(1);
    expect(start.stdout).not.toContain('listening');
    for (const line of expected) expect(start.stderr, line).toContain(line);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable key (permission denied) is an error at its key (skipped as root: root reads any file)', async () => {
    const dir = await fixtures();
    const file = path.join(dir, 'fairway.yaml');
    await writeFile(file, ['listen:', '  - address: 127.0.0.1:0', '    tls:', '      certificates:', '        - { cert: localhost.crt, key: locked.key }', 'pools:', '  web: { upstreams: [http://127.0.0.1:3001] }', ''].join('\n'));
    const check = await runCli(['check', '--config', file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`listen[0].tls.certificates[0].key: cannot read ${path.join(dir, 'locked.key')}: permission denied`);
  });
});
