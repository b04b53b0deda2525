import type { SetPolicyRequest } from '../../protocol/pipelines.ts';
import { connect, parsePositiveInt, requireProject, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { describePolicy } from './pipeline.ts';

export interface EnvSetOptions {
  project?: string | undefined;
  follows?: string | undefined;
  from?: string | undefined;
  auto?: boolean | undefined;
  checks?: string | undefined;
  mode?: string | undefined;
  maxCommits?: string | undefined;
  requires?: string | undefined;
  windows?: string | undefined;
  expedite?: string | undefined;
  soak?: string | undefined;
  approvals?: string | undefined;
  approvalRoles?: string | undefined;
  approvalAuthors?: string | undefined;
  maxUnavailable?: string | undefined;
  drain?: string | undefined;
  healthTimeout?: string | undefined;
  prepareTimeout?: string | undefined;
  releaseTimeout?: string | undefined;
  reset?: boolean | undefined;
  json?: boolean | undefined;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** `none` (or an empty value) clears a field that names something. */
const nameOrNull = (text: string): string | null => (text === '' || text === 'none' ? null : text);

/**
 * `slipway env set production --from staging --checks ci/test,e2e --mode gate`: the policy of
 * one environment, for projects whose path is not declared in slipway.yaml. Fields not given
 * keep their value; the change is audited.
 */
export const envSet: Command<EnvSetOptions & { environment: string }> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const body: SetPolicyRequest = {};
  if (options.follows !== undefined) body.follows = nameOrNull(options.follows);
  if (options.from !== undefined) body.from = nameOrNull(options.from);
  if (options.auto !== undefined) body.auto = options.auto;
  if (options.checks !== undefined) body.checks = list(options.checks);
  if (options.mode !== undefined) {
    if (options.mode !== 'gate' && options.mode !== 'parallel') throw usage(`--mode is gate or parallel, not "${options.mode}"`);
    body.mode = options.mode;
  }
  const maxCommits = parsePositiveInt('--max-commits', options.maxCommits);
  if (maxCommits !== undefined) body.maxCommits = maxCommits;
  if (options.requires !== undefined) body.requires = list(options.requires);
  if (options.windows !== undefined) {
    // Windows hold commas (`Mon,Wed 09:00-12:00 UTC`), so they are separated by semicolons.
    body.windows = options.windows
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (options.expedite !== undefined) {
    if (options.expedite !== 'allow' && options.expedite !== 'hold') throw usage(`--expedite is allow or hold, not "${options.expedite}"`);
    body.expedite = options.expedite;
  }
  if (options.soak !== undefined) body.soak = options.soak === '' || options.soak === 'none' ? null : options.soak;
  const approvals = approvalsOf(options);
  if (approvals !== undefined) body.approvals = approvals;
  const rollout = rolloutOf(options);
  if (rollout !== undefined) body.rollout = rollout;
  if (options.reset) body.reset = true;
  if (Object.keys(body).length === 0) {
    throw usage(
      'nothing to set: give --from, --follows, --auto, --checks, --mode, --max-commits, --requires, --soak, --windows, --expedite, --approvals, --approval-roles, --approval-authors, --max-unavailable, --drain, --health-timeout, --prepare-timeout, --release-timeout or --reset',
    );
  }
  const client = await connect(ctx);
  const policy = await client.setPolicy(project, options.environment, body);
  if (options.json) ctx.out.json(policy);
  else ctx.out.line(`${options.environment}: ${describePolicy(policy)}`);
  return ExitCode.OK;
};

/** `--max-unavailable 2` (or `25%`) `--drain 5s --health-timeout 1m --prepare-timeout 10m --release-timeout 30m`: how a service's instances switch. */
function rolloutOf(options: EnvSetOptions): SetPolicyRequest['rollout'] {
  const given = [options.maxUnavailable, options.drain, options.healthTimeout, options.prepareTimeout, options.releaseTimeout];
  if (given.every((v) => v === undefined)) return undefined;
  const rollout: NonNullable<SetPolicyRequest['rollout']> = {};
  if (options.maxUnavailable !== undefined) {
    const text = options.maxUnavailable.trim();
    if (/^(100|[1-9][0-9]?)%$/.test(text)) rollout.maxUnavailable = text;
    else {
      const count = parsePositiveInt('--max-unavailable', text);
      if (count === undefined) throw usage(`--max-unavailable is a number of instances or a percentage (25%), not "${text}"`);
      rollout.maxUnavailable = count;
    }
  }
  if (options.drain !== undefined) rollout.drain = options.drain;
  if (options.healthTimeout !== undefined) rollout.healthTimeout = options.healthTimeout;
  if (options.prepareTimeout !== undefined) rollout.prepareTimeout = options.prepareTimeout;
  if (options.releaseTimeout !== undefined) rollout.releaseTimeout = options.releaseTimeout;
  return rollout;
}

const LADDER = ['viewer', 'deployer', 'approver', 'admin'] as const;

/** `--approvals 2 --approval-roles approver --approval-authors all`; `--approvals none` clears them. */
function approvalsOf(options: EnvSetOptions): SetPolicyRequest['approvals'] {
  const { approvals, approvalRoles, approvalAuthors } = options;
  if (approvals === undefined && approvalRoles === undefined && approvalAuthors === undefined) return undefined;
  if (approvals === 'none' && approvalRoles === undefined && approvalAuthors === undefined) return null;
  const out: NonNullable<SetPolicyRequest['approvals']> = {};
  if (approvals !== undefined) {
    if (!/^\d{1,2}$/.test(approvals) && approvals !== 'none') throw usage(`--approvals is a number of people (0 or none: no count), not "${approvals}"`);
    out.count = approvals === 'none' ? 0 : Number(approvals);
  }
  if (approvalRoles !== undefined) {
    const roles = list(approvalRoles);
    const unknown = roles.find((role) => !(LADDER as readonly string[]).includes(role));
    if (unknown !== undefined || roles.length === 0) throw usage(`--approval-roles takes ${LADDER.join(', ')}, comma-separated${unknown === undefined ? '' : `, not "${unknown}"`}`);
    out.roles = roles as (typeof LADDER)[number][];
  }
  if (approvalAuthors !== undefined) {
    if (approvalAuthors !== 'all' && approvalAuthors !== 'none') throw usage(`--approval-authors is all or none, not "${approvalAuthors}"`);
    out.authors = approvalAuthors === 'all' ? 'all' : null;
  }
  return out;
}
