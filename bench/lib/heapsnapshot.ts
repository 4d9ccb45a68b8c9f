// Reads V8 .heapsnapshot files (node --heapsnapshot-signal) into live bytes and counts per
// constructor, and diffs two of them: "what does a process keep per idle connection". Pure
// except for reading the files; no dependency (the format is documented JSON: snapshot.meta).

import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Live objects of one kind: count and summed self size in bytes. */
export interface HeapGroup {
  name: string;
  count: number;
  bytes: number;
}

/** Groups a snapshot by constructor (objects, natives) or by V8 type (strings, arrays, code …). */
export function groupSnapshot(file: string): { totalBytes: number; groups: Map<string, HeapGroup> } {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
  const fields = raw.snapshot.meta.node_fields;
  const types = raw.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  for (let i = 0; i < raw.nodes.length; i += width) {
    const type = types[raw.nodes[i + iType]!] ?? '?';
    const size = raw.nodes[i + iSize]!;
    totalBytes += size;
    let name: string;
    if (type === 'object' || type === 'native') name = raw.strings[raw.nodes[i + iName]!] ?? '?';
    else if (type === 'closure') name = `(closure) ${raw.strings[raw.nodes[i + iName]!] ?? ''}`.trimEnd();
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else name = `(${type})`;
    let g = groups.get(name);
    if (g === undefined) {
      g = { name, count: 0, bytes: 0 };
      groups.set(name, g);
    }
    g.count++;
    g.bytes += size;
  }
  return { totalBytes, groups };
}

/** What `after` holds beyond `before`, per unit (÷ `units`), largest first; `top` rows. */
export function diffPerUnit(before: string, after: string, units: number, top = 12): { bytesPerUnit: number; rows: HeapGroup[] } {
  const a = groupSnapshot(before);
  const b = groupSnapshot(after);
  const rows: HeapGroup[] = [];
  for (const [name, g] of b.groups) {
    const prev = a.groups.get(name);
    const bytes = g.bytes - (prev?.bytes ?? 0);
    const count = g.count - (prev?.count ?? 0);
    if (bytes > 0) rows.push({ name, count: count / units, bytes: bytes / units });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  return { bytesPerUnit: (b.totalBytes - a.totalBytes) / units, rows: rows.slice(0, top) };
}
