// A small authoritative DNS server for tests, on 127.0.0.1:0 over UDP (dns-packet over
// node:dgram), with TCP on the same port for answers too large for one UDP reply (RFC 7766).
// It holds A/AAAA records per name with TTLs that tests change at any time, can answer
// SERVFAIL/NXDOMAIN/REFUSED/empty NOERROR or delay/drop replies per name and type, and counts
// the queries it gets. It is not a resolver: it never recurses and never talks to anything
// but its own clients on loopback.

import dgram from 'node:dgram';
import net from 'node:net';
import { onTestFinished } from 'vitest';
import dnsPacket from 'dns-packet';

/** Record types this server holds. */
export type DnsType = 'A' | 'AAAA';

/** How the server answers a name (or one type of it). */
export const DnsMode = {
  /** The records set for the name (empty NOERROR when there are none of that type). */
  Answer: 'answer',
  ServFail: 'servfail',
  NxDomain: 'nxdomain',
  Refused: 'refused',
  /** NOERROR with no answers, whatever records are set. */
  Empty: 'empty',
  /** No reply at all: the client times out. */
  Drop: 'drop',
} as const;
export type DnsMode = (typeof DnsMode)[keyof typeof DnsMode];

/** One record as the test writes it: an address, or an address with its TTL in seconds. */
export type RecordInput = string | { readonly address: string; readonly ttl: number };

export interface TestDnsServer {
  /** "127.0.0.1:PORT", the form `dns.servers` and `Resolver.setServers()` take. */
  readonly server: string;
  readonly port: number;
  /**
   * Replaces the A and/or AAAA records of `name` (a type left out keeps its records).
   * Unknown names answer NXDOMAIN. `ttl` (seconds, default 60) applies to string records.
   */
  setRecords(name: string, records: { A?: readonly RecordInput[]; AAAA?: readonly RecordInput[]; ttl?: number }): void;
  /** Removes every record and behaviour of `name` (it answers NXDOMAIN again). */
  deleteName(name: string): void;
  /** How `name` is answered from now on; `type` limits it to A or AAAA queries. */
  setMode(name: string, mode: DnsMode, opts?: { type?: DnsType }): void;
  /** Holds every reply for `name` (of `type`, if given) this long before sending it; 0 = none. */
  setDelay(name: string, delayMs: number, opts?: { type?: DnsType }): void;
  /** Queries received for `name` (of `type`, if given), over UDP and TCP together. */
  queries(name: string, type?: DnsType): number;
  /** Replies sent for `name` (of `type`, if given): a delayed reply counts once it has left. */
  replies(name: string, type?: DnsType): number;
  /** Queries received over TCP (the client's retry after a truncated UDP reply). */
  readonly tcpQueries: number;
  /** Stops both sockets and drops delayed replies. Idempotent. */
  close(): Promise<void>;
}

/** Largest UDP reply without EDNS (RFC 1035 §4.2.1); larger answers are truncated (TC). */
const UDP_LIMIT = 512;

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

interface NameEntry {
  records: Record<DnsType, { address: string; ttl: number }[]>;
  mode: Record<DnsType, DnsMode>;
  delayMs: Record<DnsType, number>;
}

const TYPES: readonly DnsType[] = ['A', 'AAAA'];

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Starts a test DNS server on 127.0.0.1:0 (UDP and TCP on the same port) and closes it when
 * the current test finishes. Pass `{ autoClose: false }` to manage closing yourself.
 */
export async function startDnsServer(opts: { autoClose?: boolean } = {}): Promise<TestDnsServer> {
  const names = new Map<string, NameEntry>();
  const counts = new Map<string, number>();
  const sent = new Map<string, number>();
  const pending = new Set<NodeJS.Timeout>();
  const tcpSockets = new Set<net.Socket>();
  let tcpQueries = 0;
  let closed = false;

  const entryOf = (name: string): NameEntry => {
    const key = norm(name);
    let e = names.get(key);
    if (e === undefined) {
      e = { records: { A: [], AAAA: [] }, mode: { A: 'answer', AAAA: 'answer' }, delayMs: { A: 0, AAAA: 0 } };
      names.set(key, e);
    }
    return e;
  };

  const bump = (m: Map<string, number>, key: string): void => {
    m.set(key, (m.get(key) ?? 0) + 1);
  };
  const sum = (m: Map<string, number>, name: string, type: DnsType | undefined): number => {
    const key = norm(name);
    if (type !== undefined) return m.get(`${key} ${type}`) ?? 0;
    let n = 0;
    for (const t of TYPES) n += m.get(`${key} ${t}`) ?? 0;
    return n;
  };

  /** The reply to one query packet, or null to send nothing; `delayMs` for the reply; `key` counts it. */
  const answer = (query: Buffer, overTcp: boolean): { reply: Buffer; delayMs: number; key: string } | null => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(query);
    } catch {
      return null;
    }
    const question = q.questions?.[0];
    if (question === undefined) return null;
    const name = norm(question.name);
    const type = question.type;
    const key = `${name} ${type}`;
    bump(counts, key);
    if (overTcp) tcpQueries++;
    const e = names.get(name);
    const known = type === 'A' || type === 'AAAA' ? type : null;
    const mode: DnsMode = e === undefined ? 'nxdomain' : known === null ? 'empty' : e.mode[known];
    if (mode === 'drop') return null;
    let rcode: number = RCODE.NOERROR;
    if (mode === 'servfail') rcode = RCODE.SERVFAIL;
    else if (mode === 'nxdomain') rcode = RCODE.NXDOMAIN;
    else if (mode === 'refused') rcode = RCODE.REFUSED;
    const answers: dnsPacket.Answer[] =
      mode === 'answer' && e !== undefined && known !== null
        ? e.records[known].map((r) => ({ type: known, name: question.name, ttl: r.ttl, class: 'IN', data: r.address }))
        : [];
    const base = {
      type: 'response' as const,
      id: q.id ?? 0,
      // Authoritative, echo RD, plus the rcode in the low four bits.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode,
      questions: [question],
    };
    let reply = dnsPacket.encode({ ...base, answers });
    if (!overTcp && reply.length > UDP_LIMIT) {
      // Too large for UDP: send the truncated flag so the client asks again over TCP.
      reply = dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
    }
    return { reply, delayMs: known === null || e === undefined ? 0 : e.delayMs[known], key };
  };

  const later = (delayMs: number, send: () => void): void => {
    if (delayMs <= 0) return send();
    const t = setTimeout(() => {
      pending.delete(t);
      if (!closed) send();
    }, delayMs);
    pending.add(t);
  };

  const onDatagram = (udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const r = answer(msg, false);
    if (r === null) return;
    later(r.delayMs, () => {
      bump(sent, r.key);
      udp.send(r.reply, rinfo.port, rinfo.address);
    });
  };

  // TCP messages carry a two-byte length prefix (RFC 1035 §4.2.2).
  const onConnection = (socket: net.Socket): void => {
    tcpSockets.add(socket);
    socket.on('close', () => tcpSockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const r = answer(msg, true);
        if (r === null) continue;
        const framed = Buffer.alloc(2 + r.reply.length);
        framed.writeUInt16BE(r.reply.length, 0);
        r.reply.copy(framed, 2);
        later(r.delayMs, () => {
          bump(sent, r.key);
          socket.write(framed);
        });
      }
    });
  };

  const { udp, tcp, port } = await bindPair(onDatagram, onConnection);

  const server: TestDnsServer = {
    server: `127.0.0.1:${port}`,
    port,
    get tcpQueries() {
      return tcpQueries;
    },
    setRecords(name, records) {
      const e = entryOf(name);
      const ttl = records.ttl ?? 60;
      for (const type of TYPES) {
        const list = records[type];
        if (list === undefined) continue;
        e.records[type] = list.map((r) => (typeof r === 'string' ? { address: r, ttl } : { address: r.address, ttl: r.ttl }));
      }
    },
    deleteName(name) {
      names.delete(norm(name));
    },
    setMode(name, mode, o = {}) {
      const e = entryOf(name);
      for (const type of TYPES) if (o.type === undefined || o.type === type) e.mode[type] = mode;
    },
    setDelay(name, delayMs, o = {}) {
      const e = entryOf(name);
      for (const type of TYPES) if (o.type === undefined || o.type === type) e.delayMs[type] = delayMs;
    },
    queries: (name, type) => sum(counts, name, type),
    replies: (name, type) => sum(sent, name, type),
    async close() {
      if (closed) return;
      closed = true;
      for (const t of pending) clearTimeout(t);
      pending.clear();
      for (const s of tcpSockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
  if (opts.autoClose !== false) onTestFinished(() => server.close());
  return server;
}

/**
 * Binds UDP on 127.0.0.1:0, then TCP on the same port number. The TCP port may already be in
 * use (any loopback socket's ephemeral port): then both are dropped and another port is tried.
 */
async function bindPair(
  onDatagram: (udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void,
  onConnection: (socket: net.Socket) => void,
): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => onDatagram(udp, msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const port = udp.address().port;
    const tcp = net.createServer(onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
      return { udp, tcp, port };
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}
