// Writes schema/slipway.schema.json from the zod schema of slipway.yaml (src/core/slipway-config.ts).
// `--check` writes nothing and exits 1 when the committed file is out of date.
import { readFile, writeFile } from 'node:fs/promises';
import { slipwayConfigJsonSchemaText } from '../src/core/slipway-config.ts';

const target = new URL('../schema/slipway.schema.json', import.meta.url);
const text = slipwayConfigJsonSchemaText();

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  if (current !== text) {
    console.error('schema/slipway.schema.json is out of date: run node --import tsx scripts/build-schema.ts');
    process.exit(1);
  }
} else {
  await writeFile(target, text);
  console.log(`wrote ${target.pathname}`);
}
