// Writes config/fairway.schema.json from the zod schema (src/config/json-schema.ts) (`npm run schema`).
// src/config/schema.test.ts fails while the committed file differs from what this writes.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/config/json-schema.ts';

const target = fileURLToPath(new URL('../config/fairway.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
