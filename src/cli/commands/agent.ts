import { readFile } from 'node:fs/promises';
import { runAgent } from '../../agent/agent.ts';
import type { Command } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';

export interface AgentOptions {
  dir?: string | undefined;
  server?: string | undefined;
  token?: string | undefined;
  port?: string | undefined;
  address?: string | undefined;
  name?: string | undefined;
  keep?: string | undefined;
  printSystemd?: boolean | undefined;
}

/** `slipway agent`: the agent (src/agent), run by the CLI instead of its own bundle. */
export const agent: Command<AgentOptions> = async (options, ctx) => {
  const argv: string[] = [];
  for (const [flag, value] of [
    ['--dir', options.dir],
    ['--server', options.server],
    ['--token', options.token],
    ['--port', options.port],
    ['--address', options.address],
    ['--name', options.name],
    ['--keep', options.keep],
  ] as const) {
    if (value !== undefined) argv.push(flag, value);
  }
  if (options.printSystemd) argv.push('--print-systemd');
  const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const code = await runAgent(argv, {
      env: ctx.env,
      out: (line) => ctx.out.line(line),
      err: (line) => ctx.out.stderr.write(`${line}\n`),
      version,
      signal: stop.signal,
      self: [process.execPath, process.argv[1] ?? 'slipway', 'agent'],
    });
    return code as ExitCode;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
};
