// The JSON Schema shipped as config/fairway.schema.json (`npm run schema`), generated from the
// zod schema so editors and the loader never disagree. It describes the file before ${VAR}
// expansion; the loader alone judges expanded values.

import * as z from 'zod';
import { headerNameKey } from './route-schema.ts';
import { configSchema, poolName } from './schema.ts';

const ENV_REFERENCE = '\\$\\{';

/**
 * Schemas of mapping keys (pool names, header names to set): keys are never expanded, so their
 * patterns stay strict. A checked string is a pipe whose pattern sits on its input schema.
 */
const NEVER_EXPANDED: ReadonlySet<unknown> = new Set([poolName, headerNameKey, headerNameKey.in]);

/**
 * Widens every string pattern of the JSON Schema to also accept `${VAR}` references: editors
 * see the file before expansion, zod sees it after, and only zod can judge the expanded value.
 */
function allowEnvReferences(node: Record<string, unknown>): void {
  const pattern = node['pattern'];
  // The same node can be visited more than once when a schema is reused: widen it only once.
  if (typeof pattern === 'string' && !pattern.endsWith(ENV_REFERENCE)) node['pattern'] = `(?:${pattern})|${ENV_REFERENCE}`;
}

/** The JSON Schema shipped as config/fairway.schema.json, for editor completion and checks (draft-07, the draft editors support best). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-07',
    override: (ctx) => {
      if (!NEVER_EXPANDED.has(ctx.zodSchema)) allowEnvReferences(ctx.jsonSchema as Record<string, unknown>);
    },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'urn:fairway:config',
    title: 'Fairway configuration',
    description:
      'fairway.yaml: listeners, pools of upstreams, health checks, retries and routes. Durations: 250ms, 5s, 1m (bare number = ms). Sizes: 16kb, 10mb (bare number = bytes). ${VAR} and ${VAR:-default} are replaced from the environment.',
    ...rest,
  };
}

/** {@link configJsonSchema} as the exact text of config/fairway.schema.json (2-space JSON, final newline). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
