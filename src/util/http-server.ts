// What every listening server of the process does alike (data-plane listeners and the admin
// server): bind and report the real address, and answer a client's parse error without ever
// letting a socket error become an uncaught exception. It knows no routes and no config.

import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';

/** The part of a listen address a bind needs. */
export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

/** Binds `server`; resolves once listening, rejects with the bind error (EADDRINUSE, EACCES…). */
export async function bind(server: Server, address: BindAddress, reusePort = false): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port, reusePort }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** `scheme://host:port` of the bound socket (IPv6 in brackets, port 0 resolved); '' before bind. */
export function boundUrl(server: Server, scheme: 'http' | 'https'): string {
  const a = server.address();
  if (a === null || typeof a === 'string') return a ?? '';
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `${scheme}://${host}:${a.port}`;
}

/** The bound port; 0 before bind. */
export function boundPort(server: Server): number {
  const a = server.address();
  return a !== null && typeof a !== 'string' ? a.port : 0;
}

/** What a parse error of the client's request means, as an HTTP status class. */
export type ClientErrorKind = 'headers-too-large' | 'request-timeout' | 'bad-request';

/**
 * The node:http `clientError` listener every server installs: a reset or an unwritable socket
 * is destroyed silently; anything else gets `respond(kind)`'s bytes (a complete response that
 * closes the connection) and the socket ends.
 */
export function clientErrorHandler(respond: (kind: ClientErrorKind, err: NodeJS.ErrnoException) => string) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const kind: ClientErrorKind =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'headers-too-large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'request-timeout'
          : 'bad-request';
    socket.end(respond(kind, err));
  };
}
