// Writes openapi.json and src/v1.gen.ts from src/document.ts: `npm run build -w openapi`.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './src/generate.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const { json, types } = await generate();
await fs.writeFile(path.join(here, 'openapi.json'), json);
await fs.writeFile(path.join(here, 'src/v1.gen.ts'), types);
process.stdout.write('wrote openapi/openapi.json and openapi/src/v1.gen.ts\n');
