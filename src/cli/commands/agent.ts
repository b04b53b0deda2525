import { readFile } from 'node:fs/promises';
import { runAgent } from '../../agent/agent.ts';
import type { Command } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';

export interface AgentOptions {
  server?: string | undefined;
  token?: string | undefined;
}

/** `slipway agent`: the agent (src/agent), run by the CLI instead of its own bundle. */
export const agent: Command<AgentOptions> = async (options, ctx) => {
  const argv = [...(options.server !== undefined ? ['--server', options.server] : []), ...(options.token !== undefined ? ['--token', options.token] : [])];
  const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const code = await runAgent(argv, {
    env: ctx.env,
    out: (line) => ctx.out.line(line),
    err: (line) => ctx.out.stderr.write(`${line}\n`),
    version,
  });
  return code as ExitCode;
};
