// What bin/slipway runs. The package ships the compiled CLI (dist/bundle/, `npm run build`) and runs
// only that. In a checkout whose sources changed since the last build (dist/.built is older than
// a file or folder under src/), it runs src/ through tsx instead, so a developer, and the test
// suite, run what they edited and never a stale build. SLIPWAY_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const compiled = new URL('dist/bundle/slipway.js', root);
const source = new URL('src/cli/main.ts', root);

if (existsSync(source) && (process.env.SLIPWAY_FROM_SOURCE === '1' || !builtAfterSources())) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
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
