import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { startUpstream } from './scripts/upstream.ts';
import { buildConfig } from './src/config/load.ts';
import { silentLogger } from './src/observability/log.ts';
import { Runtime } from './src/runtime.ts';

const a = await startUpstream({ name: 'a' });
const b = await startUpstream({ name: 'b', behavior: { kind: 'delay', ms: 30 } });
const c = await startUpstream({ name: 'c' });
const d = await startUpstream({ name: 'd', behavior: { kind: 'status', status: 503 } });
const cfg = buildConfig({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, pools: {
  web: { balancer: 'ewma', upstreams: [a.url, b.url, c.url], healthCheck: { path: '/health', interval: '500ms', timeout: '400ms', unhealthyThreshold: 2, healthyThreshold: 1 } },
  api: { balancer: 'round-robin', upstreams: [{ url: a.url, weight: 2 }, d.url] } },
  routes: [{ match: { pathPrefix: '/api' }, pool: 'api' }, { pool: 'web' }] });
const rt = await Runtime.start(cfg, { log: silentLogger(), reloadSource: null });
const url = rt.urls()[0]!;
let stop = false;
const load = async () => { while (!stop) { await Promise.all([fetch(url + '/').then(r => r.text()), fetch(url + '/api/x').then(r => r.text())]).catch(() => {}); await new Promise(r => setTimeout(r, 20)); } };
const loads = [load(), load()];
await new Promise(r => setTimeout(r, 4000));
c.healthStatus = 500;
await c.close();
await new Promise(r => setTimeout(r, 4000));
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/pwud-'), { executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1500, height: 900 }, args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
page.on('console', m => console.log('console:', m.text()));
page.on('pageerror', e => console.log('pageerror:', e.message));
await page.goto(rt.admin!.url() + '/');
await new Promise(r => setTimeout(r, 3500));
await page.screenshot({ path: '/tmp/dash1.png', fullPage: true });
await ctx.close();
stop = true; await Promise.all(loads);
await rt.close(0); await Promise.all([a.close(), b.close(), d.close()]);
