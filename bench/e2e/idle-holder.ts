// Idle keep-alive clients for the conn-scale bench: opens N connections to URL (at most
// `--window` connecting at once, so the listen backlog never overflows), sends one keep-alive
// GET on each, reads its response, then holds every socket open and silent. Prints one JSON line
// when all are idle ({"open", "failed", "ms"}), one line {"closedByPeer"} on SIGUSR2 (how many
// the server has closed since), and exits, closing them all, on SIGTERM. Run: node bench/e2e/idle-holder.ts --url http://127.0.0.1:PORT/ --count 9900

import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '1000' },
    window: { type: 'string', default: '200' },
  },
});
if (values.url === undefined) throw new Error('usage: idle-holder.ts --url URL --count N');
const url = new URL(values.url);
const count = Number(values.count);
const windowSize = Number(values.window);
const port = Number(url.port);
const request = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);

const sockets: net.Socket[] = [];
let started = 0;
let idle = 0;
let failed = 0;
const t0 = performance.now();

/** True once `text` holds a whole response head and its Content-Length body. */
function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return m !== null && text.length >= end + 4 + Number(m[1]);
}

function openOne(): void {
  started++;
  const s = net.connect({ host: url.hostname, port, noDelay: true });
  let got = '';
  let done = false;
  const settle = (ok: boolean): void => {
    if (done) return;
    done = true;
    if (ok) idle++;
    else failed++;
    if (started < count) openOne();
    else if (idle + failed === count) report();
  };
  s.on('connect', () => s.write(request));
  s.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    if (!done && complete(got)) {
      if (!/^HTTP\/1\.1 2\d\d/.test(got)) s.destroy();
      settle(/^HTTP\/1\.1 2\d\d/.test(got));
    }
  });
  s.on('error', () => settle(false));
  s.on('close', () => {
    if (!done) settle(false);
    else if (!reported) return;
    else closedLater++;
  });
  sockets.push(s);
}

let reported = false;
let closedLater = 0;
function report(): void {
  reported = true;
  process.stdout.write(`${JSON.stringify({ open: idle, failed, ms: Math.round(performance.now() - t0) })}\n`);
}

for (let i = 0; i < Math.min(windowSize, count); i++) openOne();

const stop = (): void => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify({ closedByPeer: closedLater })}\n`));
