import { setTimeout as sleep } from 'node:timers/promises';
import type { Build, BuildLogLine } from '../../protocol/builds.ts';
import type { SlipwayClient } from '../../protocol/client.ts';
import { isRetryable } from '../../publish/upload.ts';
import { connect, requireProject } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface LogsOptions {
  build: string;
  project?: string | undefined;
  follow?: boolean | undefined;
  timestamps?: boolean | undefined;
  json?: boolean | undefined;
}

const POLL_MS = 300;
/** Consecutive failed polls (network, 5xx) a follow rides out before giving up. */
const MAX_POLL_FAILURES = 20;

const isFinished = (build: Build): boolean => build.state !== 'queued' && build.state !== 'running';

/**
 * Prints a build's log. With `--follow` it keeps printing until the build ends and exits 0
 * only if the build succeeded (8 when it failed or was canceled), so `slipway logs … --follow`
 * can gate a script. `--json` prints `{build, lines}`; with `--follow`, one JSON object per
 * line (NDJSON) and a last `{"build": …}`.
 */
export const logs: Command<LogsOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const print = (line: BuildLogLine): void => {
    if (options.json) ctx.out.stdout.write(`${JSON.stringify(line)}\n`);
    else ctx.out.line(formatLine(line, options.timestamps ?? false));
  };

  if (!options.follow) {
    const { build, lines } = await readAll(client, project, options.build);
    if (options.json) ctx.out.json({ build, lines });
    else for (const line of lines) print(line);
    return ExitCode.OK;
  }

  // States: tailing (poll every 300 ms, print new lines) → draining (the build ended: read
  // until no line is left) → done. Transient failures are ridden out, a 4xx ends it.
  let after = 0;
  let failures = 0;
  let build: Build;
  for (;;) {
    let page: { build: Build; lines: BuildLogLine[] };
    try {
      page = await client.getBuildLogs(project, options.build, { after });
      failures = 0;
    } catch (err) {
      failures += 1;
      if (!isRetryable(err) || failures >= MAX_POLL_FAILURES) throw err;
      await sleep(Math.min(5000, POLL_MS * 2 ** failures));
      continue;
    }
    for (const line of page.lines) {
      print(line);
      after = line.seq;
    }
    build = page.build;
    if (page.lines.length === 0 && isFinished(build)) break;
    if (page.lines.length === 0) await sleep(POLL_MS);
  }
  report(build, options.json ?? false, ctx);
  return build.state === 'succeeded' ? ExitCode.OK : ExitCode.BUILD_FAILED;
};

async function readAll(client: SlipwayClient, project: string, id: string): Promise<{ build: Build; lines: BuildLogLine[] }> {
  const lines: BuildLogLine[] = [];
  let page = await client.getBuildLogs(project, id);
  // The server answers in pages; keep asking until a page comes back empty.
  while (page.lines.length > 0) {
    lines.push(...page.lines);
    page = await client.getBuildLogs(project, id, { after: page.lines[page.lines.length - 1]?.seq ?? 0 });
  }
  return { build: page.build, lines };
}

function report(build: Build, json: boolean, ctx: Context): void {
  if (json) {
    ctx.out.stdout.write(`${JSON.stringify({ build })}\n`);
    return;
  }
  if (build.state === 'succeeded') ctx.out.note(`Build ${build.id} succeeded: ${build.deploymentUrl ?? build.deployment ?? ''}`);
  else if (build.state === 'canceled') ctx.out.note(`Build ${build.id} was canceled`);
  else ctx.out.note(`Build ${build.id} failed: ${build.error ?? 'no reason given'}`);
}

/** stdout and stderr lines as the build printed them; Slipway's own lines marked `----->`. */
export function formatLine(line: BuildLogLine, timestamps: boolean): string {
  const text = line.stream === 'system' ? `-----> ${line.text}` : line.text;
  return timestamps ? `${line.at.slice(11, 23)} ${text}` : text;
}
