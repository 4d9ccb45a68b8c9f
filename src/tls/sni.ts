// Choosing a certificate by the SNI server name: exact name, then a one-label `*.` wildcard,
// then the first certificate. Tables are built once per certificate change; lookups only read.
// What a "certificate" is stays generic (the store keeps its entries here).

/** One certificate's names as selection sees them: lower-case host names or `*.host`. */
export interface SniEntry<T> {
  readonly names: readonly string[];
  readonly value: T;
}

/**
 * A precomputed SNI table. Exact names and wildcard parents are two Maps, so a lookup is at
 * most three Map reads. Among certificates naming the same host, the first in config order
 * wins, exact names beat wildcards whatever the order, and an unmatched (or absent) name gets
 * the first certificate. Immutable: a certificate change builds a new table.
 */
export class SniTable<T> {
  /** The first entry's value: served without SNI, and for names nothing matches. */
  readonly fallback: T;
  private readonly exact: Map<string, T>;
  /** Keyed by what follows `*.`: `*.example.com` → `example.com`. */
  private readonly wildcard: Map<string, T>;

  /** Throws on an empty list: a TLS listener always has a default certificate. O(total names). */
  constructor(entries: readonly SniEntry<T>[]) {
    const first = entries[0];
    if (first === undefined) throw new Error('an SNI table needs at least one certificate');
    this.fallback = first.value;
    this.exact = new Map();
    this.wildcard = new Map();
    for (const e of entries) {
      for (const raw of e.names) {
        const name = raw.toLowerCase();
        if (name.startsWith('*.')) {
          const parent = name.slice(2);
          if (!this.wildcard.has(parent)) this.wildcard.set(parent, e.value);
        } else if (!this.exact.has(name)) this.exact.set(name, e.value);
      }
    }
  }

  /**
   * The value for a server name (as the client sent it, any case; a trailing dot is ignored):
   * exact, else wildcard, else the fallback. Called once per handshake with SNI. A name already
   * in lower case costs one Map read when it matches exactly; otherwise lower-casing and the
   * parent-domain slice are the only allocations.
   */
  select(servername: string): T {
    return this.match(servername) ?? this.fallback;
  }

  /** Exact or wildcard match only; undefined when only the fallback would serve the name. */
  match(servername: string): T | undefined {
    const direct = this.exact.get(servername);
    if (direct !== undefined) return direct;
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (name !== servername) {
      const lower = this.exact.get(name);
      if (lower !== undefined) return lower;
    }
    // RFC 6125 §6.4.3: `*` stands for exactly one whole left-most label, never an empty one.
    const dot = name.indexOf('.');
    if (dot <= 0) return undefined;
    return this.wildcard.get(name.slice(dot + 1));
  }
}
