// Raw-socket helpers for tests that need bytes HTTP clients refuse to send.
import net from 'node:net';

/** Sends raw bytes (from `localAddress` when given); resolves with everything received until the server ends or closes. Never hangs. */
export function rawRequest(url: string, text: string | readonly Buffer[], localAddress?: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: Number(u.port), host: u.hostname, ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      if (typeof text === 'string') s.write(text);
      else for (const b of text) s.write(b);
    });
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error('raw request timed out'));
    });
  });
}

/** The URL of a loopback port that refuses connections: bound, then closed. */
export async function closedPortUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
