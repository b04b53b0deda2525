#!/usr/bin/env node
// `npm run build:server`: compiles src/ to JavaScript in dist/ (tsconfig.build.json: one file per
// module, `.ts` imports rewritten to `.js`, types left to `npm run typecheck`), copies the files
// the code finds next to itself at run time (migrations, git hook scripts, the upload worker),
// and writes dist/.built, whose time is when this build started: bin/slipway compares the
// sources against it (a file saved during the build is newer, so it counts as not built).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
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

const stamp = join(dist, '.built');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
console.log(`build: dist/ compiled, ${copied} assets copied`);
