import { once } from 'node:events';
import type { Context } from './context.ts';
import { Output } from './output.ts';
import type { OutputStream } from './output.ts';
import { run, wantsJson } from './program.ts';

/** The `slipway` process: the one place that reads process state and calls `process.exit`. */
const out = new Output(process.stdout, process.stderr);
const ctx: Context = {
  out,
  env: process.env,
  cwd: process.cwd(),
  waitForShutdown: () =>
    new Promise((resolve) => {
      const stop = (signal: string): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(signal);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

let code: number;
try {
  code = await run(process.argv.slice(2), ctx);
} catch (err) {
  const { reportError } = await import('./context.ts');
  code = reportError(err, out, { json: wantsJson(process.argv.slice(2)) });
}
await Promise.all([drain(process.stdout), drain(process.stderr)]);
process.exit(code);

/** Lets piped output reach its reader before exit cuts it off. */
async function drain(stream: OutputStream & NodeJS.WriteStream): Promise<void> {
  if (stream.writableNeedDrain) await once(stream, 'drain');
}
