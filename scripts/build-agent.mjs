#!/usr/bin/env node
// Bundles the agent (src/agent/main.ts) with esbuild into one self-contained CommonJS file,
// slipway-agent.js, which runs with `node` alone on a host (no node_modules, no package.json),
// and writes its digest beside it (slipway-agent.js.sha256, in `sha256sum` format). The server
// publishes both (src/server/http/agent.ts). `npm run build:server` writes them to dist/agent/;
// `node scripts/build-agent.mjs <dir>` writes them to another directory.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const AGENT_FILE = 'slipway-agent.js';

/**
 * Builds the agent into `outDir`; returns its path, digest and size. `options.version` stamps
 * another version than package.json's (tests of self-upgrade build a "newer" agent with it).
 */
export async function buildAgent(outDir, options = {}) {
  const { build } = await import('esbuild');
  const version = options.version ?? JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, AGENT_FILE);
  await build({
    entryPoints: [join(root, 'src', 'agent', 'main.ts')],
    outfile: path,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    define: { SLIPWAY_VERSION: JSON.stringify(version) },
    banner: { js: `#!/usr/bin/env node\n// slipway-agent ${version} (MIT). One file: run it with node 20 or later.` },
    logLevel: 'warning',
  });
  const bytes = readFileSync(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(`${path}.sha256`, `${sha256}  ${AGENT_FILE}\n`);
  return { path, sha256, size: bytes.length, version };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = resolve(process.argv[2] ?? join(root, 'dist', 'agent'));
  const built = await buildAgent(out);
  console.log(`build: ${built.path} (${built.size} bytes, sha256 ${built.sha256})`);
}
