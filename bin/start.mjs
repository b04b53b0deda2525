// What bin/slipway runs. The package ships the compiled CLI (dist/bundle/, `npm run build`) and runs
// only that. In a checkout whose sources changed since the last build (dist/.built is older than
// a file or folder under src/), it runs src/ through tsx instead, so a developer, and the test
// suite, run what they edited and never a stale build. SLIPWAY_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const compiled = new URL('dist/bundle/slipway.js', root);
const source = new URL('src/cli/main.ts', root);

if (existsSync(source) && (process.env.SLIPWAY_FROM_SOURCE === '1' || !builtAfterSources())) {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch (err) {
    // A clone installed without development dependencies has no tsx: run the last build, and say so.
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(compiled)) throw err;
    process.stderr.write('warning: src/ changed since the last build and tsx is not installed; running the build in dist/ (npm run build updates it)\n');
  }
  if (tsx) {
    tsx.register();
    await import(source.href);
  } else {
    await import(compiled.href);
  }
} else {
  await import(compiled.href);
}

function builtAfterSources() {
  let built;
  try {
    built = statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return false;
  }
  const newer = (dir) => {
    if (statSync(dir).mtimeMs > built) return true;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (newer(`${dir}/${entry.name}`)) return true;
      } else if (!entry.name.endsWith('.test.ts') && statSync(`${dir}/${entry.name}`).mtimeMs > built) {
        return true;
      }
    }
    return false;
  };
  return !newer(new URL('src', root).pathname);
}
