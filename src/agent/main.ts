import { runAgent } from './agent.ts';

/** Set by the build (scripts/build.mjs) to the package's version; absent when run from the sources. */
declare const SLIPWAY_VERSION: string | undefined;

/**
 * The agent's process. The build bundles this file with everything it imports into
 * dist/agent/slipway-agent.js, a CommonJS file that runs with `node` alone (no node_modules, no
 * package.json), which is why nothing here waits at the top level.
 */
const version = typeof SLIPWAY_VERSION === 'string' ? SLIPWAY_VERSION : '0.0.0-source';

const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop.abort());

runAgent(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  version,
  signal: stop.signal,
  self: [process.execPath, process.argv[1] ?? 'slipway-agent.js'],
}).then(
  (code) => {
    process.exitCode = code;
    // Nothing of the agent's may hold the process open once it has decided to end.
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
