// `node bench/tls/main.ts [--quick] [--only a,b]`: the TLS/HTTP/2 part alone (what `npm run bench
// -- --only tls` runs inside the whole report), printing its Markdown. For working on the TLS path.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll } from '../lib/procs.ts';
import { renderTlsMarkdown } from './report.ts';
import { runTlsBench, tlsSettings } from './bench.ts';
import type { TlsTargetName } from './targets.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, repeats: { type: 'string' } } });
const base = tlsSettings(values.quick === true ? 'quick' : 'default');
const settings = {
  ...base,
  ...(values.repeats === undefined ? {} : { repeats: Number(values.repeats) }),
  ...(values.only === undefined ? {} : { targets: values.only.split(',') as TlsTargetName[] }),
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'fairway-tls-bench-'));
let n = 0;
try {
  const load0 = os.loadavg();
  const r = await runTlsBench(settings, dir, (l) => process.stderr.write(`${l}\n`), () => `[${++n}]`);
  process.stdout.write(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n`);
  process.stdout.write(renderTlsMarkdown(r));
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
