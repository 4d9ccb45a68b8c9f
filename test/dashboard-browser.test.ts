// The dashboard in a real browser: Debian's chromium (or CHROMIUM_PATH) driven by
// playwright-core, nothing downloaded. The page renders every pool and upstream, a killed
// upstream turns red without the page being reloaded, the token flow works, and a process
// group shows its totals with a per-worker breakdown.
// FAIRWAY_DASHBOARD_SCREENSHOT=docs/dashboard.png also writes the README's screenshot.

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { spawnUpstream } from './helpers/processes.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream, startUpstreams } from './helpers/upstream.ts';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '');
const EXECUTABLE = CANDIDATES.find((p) => existsSync(p));
const TOKEN = 'browser-test-token-2c9d';

let browser: Browser;

beforeAll(async () => {
  if (EXECUTABLE === undefined) {
    throw new Error(`no chromium found (tried ${CANDIDATES.join(', ')}): apt-get install chromium, or set CHROMIUM_PATH`);
  }
  browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** A fresh page (its own context: session storage included) that reports script errors to the test. */
async function openPage(url: string, viewport = { width: 1400, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  return { page, errors };
}

const row = (origin: string): string => `tr[data-upstream="${origin}"]`;
// Functions run in the page (as functions: the page's CSP forbids evaluating strings). This
// project's TypeScript has no DOM types, hence the casts through PageGlobals.
interface PageElement {
  readonly textContent: string | null;
}
interface PageGlobals {
  readonly document: { querySelector(sel: string): PageElement | null; querySelectorAll(sel: string): ArrayLike<PageElement> };
}
const BACKGROUND = (e: unknown): string =>
  (globalThis as unknown as { getComputedStyle(el: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor;
const WIDTH = (e: unknown): string => (e as { style: { width: string } }).style.width;

describe('dashboard in a browser', { timeout: 60_000 }, () => {
  it('renders every pool and upstream with live figures and share bars', async () => {
    const ups = await startUpstreams('a', 'b', 'c');
    const p = await startProxy({
      admin: { listen: '127.0.0.1:0' },
      pools: {
        web: { balancer: 'ewma', upstreams: [ups[0]!.url, ups[1]!.url] },
        api: { balancer: 'round-robin', upstreams: [{ url: ups[2]!.url, weight: 2 }] },
      },
      routes: [{ match: { pathPrefix: '/api' }, pool: 'api' }, { pool: 'web' }],
    });
    const { page, errors } = await openPage(`${p.adminUrl}/`);
    await page.waitForSelector('section[data-pool="web"]');
    await page.waitForSelector('section[data-pool="api"]');
    for (const u of ups) expect(await page.locator(row(u.url)).getAttribute('data-state')).toBe('up');
    expect(await page.locator('section[data-pool="web"] .badge').first().textContent()).toBe('ewma');
    expect(await page.locator('#live-text').textContent()).toMatch(/^live/);

    // Traffic appears without reloading: the api pool's only upstream takes 100 % of its share.
    for (let i = 0; i < 12; i++) await fetchText(`${p.url}/api/x`);
    await page.waitForFunction((sel) => (globalThis as unknown as PageGlobals).document.querySelector(sel)?.textContent === '100 %', `${row(ups[2]!.url)} .pct`);
    const fill = await page.locator(`${row(ups[2]!.url)} .bar .fill`).evaluate(WIDTH);
    expect(fill).toBe('100%');
    expect(await page.locator(`${row(ups[2]!.url)} svg.spark polyline`).count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('a killed upstream turns down, in red, without reloading the page', async () => {
    const [a, b] = await Promise.all([spawnUpstream('a'), spawnUpstream('b')]);
    const p = await startProxy({
      admin: { listen: '127.0.0.1:0' },
      pools: {
        web: {
          upstreams: [a.url, b.url],
          healthCheck: { path: '/health', interval: '200ms', timeout: '150ms', unhealthyThreshold: 2, healthyThreshold: 1 },
        },
      },
    });
    const { page, errors } = await openPage(`${p.adminUrl}/`);
    await page.waitForSelector(`${row(a.url)}[data-state="up"]`);
    // A marker that only survives if the page is never reloaded.
    await page.evaluate('window.__sameDocument = true');

    b.child.kill('SIGKILL');
    await page.waitForSelector(`${row(b.url)}[data-state="down"]`, { timeout: 15_000 });
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await page.evaluate("performance.getEntriesByType('navigation').length")).toBe(1);
    // Obvious at a glance: a red pill, a red row, the reason, a "1 down" badge, and the event.
    const pill = page.locator(`${row(b.url)} .state`);
    expect(await pill.textContent()).toBe('down');
    expect(await pill.evaluate(BACKGROUND)).toBe('rgb(208, 49, 45)');
    expect(await page.locator(`${row(b.url)} td`).first().evaluate(BACKGROUND)).not.toBe('rgba(0, 0, 0, 0)');
    expect(await page.locator(`${row(b.url)} .reason`).textContent()).toMatch(/health check failed|connect/);
    expect(await page.locator('section[data-pool="web"] .badge.alert').textContent()).toBe('1 down');
    await page.waitForFunction(
      (origin) =>
        Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#events tr')).some(
          (tr) => tr.textContent?.includes(origin) === true && tr.textContent.includes('down'),
        ),
      b.url,
    );
    expect(await page.locator(`${row(a.url)}`).getAttribute('data-state')).toBe('up');
    expect(errors).toEqual([]);
  });

  it('with admin.token: asks for the token, refuses a wrong one, keeps the right one for the tab', async () => {
    const [a] = await startUpstreams('a');
    const p = await startProxy({ admin: { listen: '127.0.0.1:0', token: TOKEN }, pools: { guarded: { upstreams: [a!.url] } } });
    const { page } = await openPage(`${p.adminUrl}/`);
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.locator('section[data-pool]').count()).toBe(0);
    expect(await page.content()).not.toContain('guarded');

    await page.fill('#token', 'not-the-token');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    expect(await page.locator('#login-error').textContent()).toBe('The token was refused.');
    expect(await page.locator('section[data-pool]').count()).toBe(0);

    await page.fill('#token', TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('section[data-pool="guarded"]');
    expect(await page.locator('#login').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('fairway.adminToken'))).toBe(TOKEN);

    // A reload of the tab keeps the token (session storage): no question asked.
    await page.reload();
    await page.waitForSelector('section[data-pool="guarded"]');
    expect(await page.locator('#login').isHidden()).toBe(true);

    // Forgetting it asks again and clears the data.
    await page.click('#signout');
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.locator('section[data-pool]').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('fairway.adminToken'))).toBeNull();
  });

  it('workers: 2 shows the process group: totals and a per-worker breakdown', { timeout: 90_000 }, async () => {
    const a = await startUpstream({ name: 'a' });
    const dir = mkdtempSync(join(tmpdir(), 'fairway-dash-workers-'));
    const file = join(dir, 'fairway.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\nworkers: 2\nadmin:\n  listen: 127.0.0.1:0\npools:\n  web:\n    upstreams: [${a.url}]\n`);
    const cli = startCli(['--config', file]);
    const url = await listeningUrl(cli);
    const admin = await listeningUrl(cli, 'admin');
    // New connections go to the workers in turn: both serve some.
    for (let i = 0; i < 20; i++) await fetchText(`${url}/`, { headers: { connection: 'close' } });

    const { page, errors } = await openPage(`${admin}/`);
    await page.waitForSelector('#workers:not([hidden])');
    expect(await page.locator('#workers tr').count()).toBe(3); // header + 2 workers
    expect(await page.locator('#workers .tabs button').allTextContents()).toEqual(['All 2 workers', 'Worker 0', 'Worker 1']);
    // Totals: the pool's request counter is the sum of both workers'.
    const stat = async (label: string): Promise<string> =>
      page.locator('section[data-pool="web"] .pool-stats span', { hasText: label }).locator('b').innerText();
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.querySelector('section[data-pool="web"] .pool-stats')?.textContent?.includes('requests 20') === true,
    );
    // Per worker: each tab shows that worker's part, and the parts add up to the total.
    let sum = 0;
    for (const name of ['Worker 0', 'Worker 1']) {
      await page.click(`#workers .tabs button:text-is("${name}")`);
      await page.waitForSelector(`#workers .tabs button[aria-pressed="true"]:text-is("${name}")`);
      const n = Number((await stat('requests')).replace(/\D/g, ''));
      expect(n).toBeGreaterThan(0);
      sum += n;
    }
    expect(sum).toBe(20);
    // The group's reloads (recorded by the primary, not by any worker) reach the event list.
    cli.child.kill('SIGHUP');
    await page.waitForFunction(() =>
      Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#events tr')).some((tr) => tr.textContent?.includes('applied') === true),
    );
    expect(errors).toEqual([]);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});

const SCREENSHOT = process.env['FAIRWAY_DASHBOARD_SCREENSHOT'];

// Only with FAIRWAY_DASHBOARD_SCREENSHOT=path: the README's picture, a scene with traffic, a slow
// upstream, a killed one and a failing one.
describe.skipIf(SCREENSHOT === undefined)('the README screenshot', { timeout: 90_000 }, () => {
  it('writes the dashboard with traffic, a slow, a down and an ejected upstream', async () => {
    const [fast, killed] = await Promise.all([spawnUpstream('a'), spawnUpstream('c')]);
    const slow = await startUpstream({ name: 'b', behavior: { kind: 'delay', ms: 40 } });
    const [api1, api2] = await startUpstreams('api1', 'api2');
    const failing = await startUpstream({ name: 'api3', behavior: { kind: 'status', status: 503 } });
    const p = await startProxy({
      admin: { listen: '127.0.0.1:0' },
      pools: {
        web: {
          balancer: 'ewma',
          upstreams: [fast.url, slow.url, killed.url],
          healthCheck: { path: '/health', interval: '500ms', timeout: '400ms', unhealthyThreshold: 2, healthyThreshold: 1 },
        },
        api: { balancer: 'round-robin', upstreams: [{ url: api1!.url, weight: 2 }, api2!.url, failing.url], retry: { attempts: 2 } },
      },
      routes: [{ match: { pathPrefix: '/api' }, pool: 'api' }, { pool: 'web' }],
    });
    let running = true;
    const loop = async (path: string, pauseMs: number): Promise<void> => {
      while (running) {
        await fetchText(`${p.url}${path}`).catch(() => {});
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    const loops = [loop('/', 10), loop('/', 25), loop('/api/orders', 20)];
    const { page } = await openPage(`${p.adminUrl}/`, { width: 1440, height: 860 });
    await new Promise((r) => setTimeout(r, 6000));
    killed.child.kill('SIGKILL');
    await page.waitForSelector(`${row(killed.url)}[data-state="down"]`, { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 6000));
    await page.screenshot({ path: SCREENSHOT!, fullPage: true });
    running = false;
    await Promise.all(loops);
  });
});
