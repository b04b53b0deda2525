import type { CheckState } from '../../core/glossary.ts';
import { toOneLine } from '../../core/one-line.ts';
import type { ProjectRow } from '../../store/store.ts';
import { CheckName, CheckUrl } from '../../protocol/checks.ts';
import { parse } from '../http/parse.ts';
import { isReservedCheckName, recordCheck } from '../services/checks.ts';
import type { ServiceDeps } from '../services/deps.ts';
import type { GithubCheckRunPayload, GithubStatusPayload, GitlabPipelinePayload } from './payloads.ts';
import type { WebhookCheck, WebhookEvent, WebhookProvider } from './provider.ts';

/**
 * Git hosts' CI results as Slipway checks: GitHub commit statuses and check runs, GitLab
 * pipelines. What each host says maps onto pending, success or failure; a state this table
 * does not know is acknowledged and ignored rather than guessed.
 */

/** GitHub status `state`: `error` (the check could not run) holds a gate like a failure. */
const GITHUB_STATUS: Record<GithubStatusPayload['state'], CheckState> = { pending: 'pending', success: 'success', failure: 'failure', error: 'failure' };

/** A check run that is not completed is pending, whatever stage it is in. */
const GITHUB_RUN_STATUSES = new Set(['queued', 'in_progress', 'waiting', 'requested', 'pending']);

const GITHUB_CONCLUSIONS: Record<string, CheckState> = {
  success: 'success',
  neutral: 'success',
  skipped: 'success',
  failure: 'failure',
  cancelled: 'failure',
  timed_out: 'failure',
  action_required: 'failure',
  stale: 'failure',
  startup_failure: 'failure',
};

/** `rerequested` and `requested_action` ask for work; the run's state comes with the events that follow. */
const GITHUB_RUN_ACTIONS = new Set(['created', 'completed']);

const GITLAB_PIPELINE: Record<string, CheckState> = {
  created: 'pending',
  waiting_for_resource: 'pending',
  preparing: 'pending',
  pending: 'pending',
  running: 'pending',
  scheduled: 'pending',
  manual: 'pending',
  success: 'success',
  skipped: 'success',
  failed: 'failure',
  canceled: 'failure',
};

export const GITLAB_PIPELINE_CHECK = 'gitlab/pipeline';

/** A check as a host sent it, made what Slipway keeps: a valid name, an http(s) link or none, one line of description. */
function webhookCheck(event: string, fields: { commit: string; name: string; state: CheckState; url: string | null | undefined; description: string | null | undefined }): WebhookEvent {
  const name = parse(CheckName, fields.name.trim());
  if (isReservedCheckName(name)) return { kind: 'ignored', event, reason: `check names starting with "slipway/" are Slipway's own` };
  const url = fields.url === null || fields.url === undefined || !CheckUrl.safeParse(fields.url).success ? null : fields.url;
  const description = fields.description === null || fields.description === undefined ? null : toOneLine(fields.description, 1000) || null;
  const check: WebhookCheck = { commit: fields.commit, name, state: fields.state, url, description };
  return { kind: 'check', check };
}

export function githubStatusEvent(status: GithubStatusPayload): WebhookEvent {
  return webhookCheck('status', {
    commit: status.sha,
    name: status.context,
    state: GITHUB_STATUS[status.state],
    url: status.target_url,
    description: status.description,
  });
}

export function githubCheckRunEvent(payload: GithubCheckRunPayload): WebhookEvent {
  const run = payload.check_run;
  if (!GITHUB_RUN_ACTIONS.has(payload.action)) return { kind: 'ignored', event: 'check_run', reason: `action ${payload.action.slice(0, 100)}` };
  let state: CheckState | undefined;
  if (run.status === 'completed') state = run.conclusion === null || run.conclusion === undefined ? undefined : GITHUB_CONCLUSIONS[run.conclusion];
  else if (GITHUB_RUN_STATUSES.has(run.status)) state = 'pending';
  if (state === undefined) {
    return { kind: 'ignored', event: 'check_run', reason: `unknown status ${run.status.slice(0, 100)}${run.conclusion ? `/${run.conclusion.slice(0, 100)}` : ''}` };
  }
  return webhookCheck('check_run', {
    commit: run.head_sha,
    name: run.name,
    state,
    url: run.details_url ?? run.html_url,
    description: run.output?.title,
  });
}

export function gitlabPipelineEvent(pipeline: GitlabPipelinePayload): WebhookEvent {
  const { status } = pipeline.object_attributes;
  const state = GITLAB_PIPELINE[status];
  if (state === undefined) return { kind: 'ignored', event: 'Pipeline Hook', reason: `unknown status ${status.slice(0, 100)}` };
  return webhookCheck('Pipeline Hook', {
    commit: pipeline.object_attributes.sha,
    name: GITLAB_PIPELINE_CHECK,
    state,
    url: pipeline.object_attributes.url,
    description: `pipeline ${status}`,
  });
}

export interface RecordedWebhookCheck {
  /** Projects the report is new for. */
  recordedFor: string[];
  /** Projects that had this delivery recorded already (a redelivery). */
  duplicateFor: string[];
}

/**
 * Records the check for every project the delivery verified for, each in its own transaction
 * with its pipeline wake-up. The delivery id makes a redelivery a no-op per project.
 */
export async function recordWebhookCheck(
  deps: ServiceDeps,
  provider: WebhookProvider,
  projects: ProjectRow[],
  deliveryId: string | undefined,
  check: WebhookCheck,
): Promise<RecordedWebhookCheck> {
  const result: RecordedWebhookCheck = { recordedFor: [], duplicateFor: [] };
  for (const project of projects) {
    const recorded = await recordCheck(deps, {
      projectId: project.id,
      commitSha: check.commit,
      name: check.name,
      state: check.state,
      url: check.url,
      description: check.description,
      source: provider.name === 'gitlab' ? 'gitlab' : 'github',
      delivery: deliveryId === undefined ? null : `${provider.name}:${deliveryId}`,
      reportedBy: provider.actor.name,
    });
    (recorded.report === undefined ? result.duplicateFor : result.recordedFor).push(project.name);
  }
  return result;
}
