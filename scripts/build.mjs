#!/usr/bin/env node
// `npm run build:server`, in three steps:
// 1. tsc compiles src/ to JavaScript in dist/ (tsconfig.build.json: one file per module, `.ts`
//    imports rewritten to `.js`, types left to `npm run typecheck`), and the files the code finds
//    next to itself at run time are copied beside it (migrations, git hook scripts, the upload
//    worker's entry).
// 2. esbuild bundles the CLI and the server from dist/ into dist/bundle/: one file to start
//    (slipway.js) and chunks that load with the command that needs them (code splitting keeps
//    `slipway --version` from loading the server). Node loads a few files instead of ~600 (kysely
//    alone is 262 modules), which is most of the server's start. `import.meta.url` in a module
//    of dist/ is rewritten to that module's own place in dist/, so lookups relative to it (the
//    migrations, the hooks, the worker, ../../../web/dist/, ../../package.json) still find
//    their files. better-sqlite3 stays a native dependency, loaded from node_modules.
// 3. the agent is bundled alone into dist/agent/slipway-agent.js, with its digest
//    (scripts/build-agent.mjs).
// 4. dist/.built is written, with the time this build started: bin/slipway compares the sources
//    against it (a file saved during the build is newer, so it counts as not built).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const started = new Date();

rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  console.error('build: tsc failed');
  process.exit(compiled.status ?? 1);
}

/** Files other than TypeScript that the compiled code reads or runs from its own directory. */
const ASSETS = /\.(sql|mjs)$/;
let copied = 0;
(function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path);
    else if (ASSETS.test(entry.name)) {
      const target = join(dist, relative(src, path));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
      copied += 1;
    }
  }
})(src);

const bundleDir = join(dist, 'bundle');
const { build } = await import('esbuild');

/** Rewrites `import.meta.url` in each module of dist/ to that module's own URL. */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(`${dist}/`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      const own = `new URL(${JSON.stringify(relative(bundleDir, args.path))}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' };
    });
  },
};

await build({
  entryPoints: { slipway: join(dist, 'cli', 'main.js') },
  outdir: bundleDir,
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native, or optional and absent: resolved from node_modules at run time.
  external: ['better-sqlite3', 'pg-native'],
  // CommonJS packages in an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __slipwayCreateRequire } from 'node:module';\nconst require = __slipwayCreateRequire(import.meta.url);" },
  plugins: [ownImportMetaUrl],
  logLevel: 'warning',
});

const { buildAgent } = await import('./build-agent.mjs');
const agent = await buildAgent(join(dist, 'agent'));

const stamp = join(dist, '.built');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
console.log(`build: dist/ compiled (${copied} assets copied), dist/bundle/slipway.js bundled, agent ${agent.size} bytes sha256 ${agent.sha256}`);
