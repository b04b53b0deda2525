import { connect, parsePositiveInt, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatTime } from '../output.ts';

export interface DeploymentsOptions {
  project?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

export const deployments: Command<DeploymentsOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const limit = parsePositiveInt('--limit', options.limit);
  const client = await connect(ctx);
  const result = await client.listDeployments(project, limit === undefined ? {} : { limit });
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  if (result.deployments.length === 0) {
    ctx.out.line(`No deployments in ${project} yet.`);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'CREATED', 'BY', 'FILES', 'SIZE', 'COMMIT', 'MESSAGE'],
    result.deployments.map((d) => [
      d.id,
      formatTime(d.createdAt),
      d.createdBy,
      String(d.fileCount),
      formatBytes(d.totalBytes),
      d.meta.commit ? d.meta.commit.slice(0, 8) + (d.meta.branch ? ` (${d.meta.branch})` : '') : '-',
      firstLine(d.meta.message),
    ]),
  );
  return ExitCode.OK;
};

function firstLine(text: string | undefined): string {
  if (!text) return '';
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}
