// The dashboard page served at GET / on the admin server: one self-contained HTML document
// (page.html with style.css and the script files inlined, read once from ./dashboard/ next to
// this module), locked down by a Content-Security-Policy that allows exactly those two inline blocks
// and requests to this origin. The page holds no data: its script reads /status (with the bearer
// token when one is configured). What /status contains is status.ts's and explain.ts's.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The page and the headers it is served with. */
export interface DashboardPage {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** The script's parts, in order: concatenated into one inline module (they share its scope). */
const SCRIPT_PARTS = ['format.js', 'history.js', 'model.js', 'view.js', 'main.js'] as const;

let cached: DashboardPage | null = null;

function asset(name: string): string {
  return readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * Builds the page (once; later calls return the same object). Throws if an asset is missing,
 * which only a broken package can cause (dist/admin/dashboard/ not copied).
 */
export function dashboardPage(): DashboardPage {
  if (cached !== null) return cached;
  const css = asset('style.css');
  const js = SCRIPT_PARTS.map(asset).join('\n');
  const html = asset('page.html');
  // Split on the markers rather than String.replace: `$` sequences in the assets stay as written.
  const [beforeStyle, afterStyle] = splitOnce(html, '/*STYLE*/');
  const [beforeScript, afterScript] = splitOnce(afterStyle, '/*SCRIPT*/');
  const body = Buffer.from(`${beforeStyle}${css}${beforeScript}${js}${afterScript}`, 'utf8');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  cached = {
    body,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
  };
  return cached;
}

function splitOnce(text: string, marker: string): [string, string] {
  const i = text.indexOf(marker);
  if (i === -1) throw new Error(`dashboard page: marker ${marker} missing`);
  return [text.slice(0, i), text.slice(i + marker.length)];
}
