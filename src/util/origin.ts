// How an upstream origin is shown to people (logs, /status, metrics labels).

/** `scheme://host:port` with any `user:password@` removed (origins should never carry one). */
export function displayOrigin(origin: string): string {
  return origin.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1');
}
