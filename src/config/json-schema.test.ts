import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema, configJsonSchemaText } from './json-schema.ts';

const schemaFile = fileURLToPath(new URL('../../config/fairway.schema.json', import.meta.url));
const referenceFile = fileURLToPath(new URL('../../config/fairway.yaml', import.meta.url));

describe('config/fairway.schema.json', () => {
  it('is what the zod schema generates', () => {
    const committed = readFileSync(schemaFile, 'utf8');
    // toBe would print a 20 kB diff; one clear line says what to do.
    expect(committed === configJsonSchemaText(), 'config/fairway.schema.json is out of date: run `npm run schema` and commit the result').toBe(true);
  });

  it('describes the file before expansion: strict keys, defaults, and ${VAR} allowed where a pattern applies', () => {
    const schema = configJsonSchema();
    expect(schema['$id']).toBe('urn:fairway:config');
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['required']).toEqual(['listen', 'pools']);
    const text = configJsonSchemaText();
    expect(text).toContain('"default": "round-robin"');
    expect(text).toContain('"pattern": "^[a-z0-9_-]+$"');
    expect(new RegExp(findPattern(schema, ['properties', 'workers', 'anyOf', 1])).test('${WORKERS:-2}')).toBe(true);
  });
});

describe('config/fairway.yaml, the reference config', () => {
  it('starts with the schema comment editors read', () => {
    expect(readFileSync(referenceFile, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./fairway.schema.json');
  });

  it('shows every key of the schema, live or in a commented-out example', () => {
    const text = readFileSync(referenceFile, 'utf8');
    const written = new Set<string>();
    collectKeys(parse(text), written);
    // Keys that need files or DNS names (TLS, resolve) are shown as commented-out YAML: `#   cert: …`.
    for (const m of text.matchAll(/^\s*#\s+(?:- )?([a-z][A-Za-z0-9]*):(?:\s|$)/gm)) written.add(m[1] ?? '');
    const missing = [...schemaKeys(configJsonSchema())].filter((k) => !written.has(k));
    expect(missing).toEqual([]);
  });
});

type Json = Record<string, unknown>;

const isJson = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function findPattern(schema: Json, path: (string | number)[]): string {
  let node: unknown = schema;
  for (const seg of path) node = (node as Record<string | number, unknown>)[seg];
  return String((node as Json)['pattern']);
}

/** Every property name anywhere in a JSON Schema. */
function schemaKeys(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) schemaKeys(item, out);
  else if (isJson(node)) {
    if (isJson(node['properties'])) for (const key of Object.keys(node['properties'])) out.add(key);
    for (const value of Object.values(node)) schemaKeys(value, out);
  }
  return out;
}

/** Every mapping key anywhere in a parsed YAML value. */
function collectKeys(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) for (const item of node) collectKeys(item, out);
  else if (isJson(node)) {
    for (const [key, value] of Object.entries(node)) {
      out.add(key);
      collectKeys(value, out);
    }
  }
}
