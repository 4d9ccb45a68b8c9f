import { describe, expect, it } from 'vitest';
import { testConfig } from './fixtures.testing.ts';
import { restartOnlyChanges } from './restart-only.ts';

const pools = { api: { upstreams: ['http://127.0.0.1:3001'] } };

describe('restartOnlyChanges', () => {
  it('is empty when only what a reload applies changed', () => {
    const a = testConfig({ listen: '127.0.0.1:8080', admin: { listen: '127.0.0.1:9901' }, pools });
    const b = testConfig({ listen: '127.0.0.1:8080', admin: { listen: '127.0.0.1:9901' }, server: { maxBodySize: '1mb' }, pools: { web: { upstreams: ['http://127.0.0.1:3002'], balancer: 'ewma' } } });
    expect(restartOnlyChanges(a, b)).toEqual([]);
  });

  it('names listen, the admin address or token, workers and the limits node:http fixes at start', () => {
    const a = testConfig({ listen: '127.0.0.1:8080', admin: { listen: '127.0.0.1:9901' }, pools });
    expect(restartOnlyChanges(a, testConfig({ listen: '127.0.0.1:8081', admin: { listen: '127.0.0.1:9901', token: 't' }, workers: 2, pools }))).toEqual([
      'listen',
      'admin.token',
      'workers',
    ]);
    expect(restartOnlyChanges(a, testConfig({ listen: '127.0.0.1:8080', pools }))).toEqual(['admin.listen']);
    expect(
      restartOnlyChanges(a, testConfig({ listen: '127.0.0.1:8080', admin: { listen: '127.0.0.1:9902' }, server: { headersTimeout: '5s', maxHeaderSize: '8kb' }, pools })),
    ).toEqual(['admin.listen', 'server.headersTimeout', 'server.maxHeaderSize']);
  });
});
