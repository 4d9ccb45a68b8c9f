// The structured logger (pino, JSON lines on stderr). Passed in explicitly, never imported as
// a global. Human lines the spec requires (listening addresses, config errors) are plain text
// on stdout/stderr and do not go through here.

import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Level from FAIRWAY_LOG_LEVEL (default info); `silent` turns logging off. */
export function createLogger(level: string = process.env['FAIRWAY_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that discards everything (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
