import type { FastifyBaseLogger } from 'fastify';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { isValidName } from '../../core/names.ts';
import { environmentUrl } from '../../core/urls.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { promote, type MovedRelease } from '../services/environments.ts';
import { verdictSummary } from '../services/pipeline.ts';
import { ZERO_SHA } from '../services/pushes.ts';
import type { PushSession } from './push-sessions.ts';
import { peelToCommit } from './repos.ts';

/**
 * `git push slipway <commit>:refs/environments/<env>` promotes the deployment that commit built,
 * exactly as `slipway promote --commit` does: same service, same gates, lineage and locks, the
 * pusher as the actor. Nothing is built.
 *
 * These refs are commands, not refs: git hands every update under `refs/environments` to the
 * proc-receive hook (`receive.procReceiveRefs`, see repos.ts) instead of writing it, the hook
 * asks the server (POST /internal/git/promotions), and answers git `ok` or `ng <code>` per
 * ref. So nothing under refs/environments is ever stored: no branch, no build, no preview, and
 * a push of the same ref tomorrow is a creation again (no fast-forward check, no "fetch first").
 * A refused promotion is `! [remote rejected] … (LINEAGE_VIOLATION)` and a non-zero exit.
 */
export const ENVIRONMENTS_REF = 'refs/environments';

export interface PromotionCommand {
  ref: string;
  before: string;
  after: string;
}

export interface PromotionResult {
  ref: string;
  /** `ok`: the promotion was made (live or waiting) or there was nothing to do; `ng`: refused. */
  status: 'ok' | 'ng';
  /** The refusal's code, which git shows in parentheses after `[remote rejected]`. */
  code: string | null;
  /** What to tell the pusher: a headline, then details (printed indented). */
  lines: string[];
}

export interface PromotionInput {
  commands: PromotionCommand[];
  /** `git push -o …`: `force` and `reason=<text>` are understood. */
  pushOptions: string[];
  /** The push is `--atomic`: its other refs must not land when a promotion is refused, nor the reverse. */
  atomic: boolean;
}

const MAX_REASON = 1000;

/** One line fit for someone's terminal: no control characters (ref names reach here unchecked by git), bounded. */
function printable(text: string, max = 400): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

interface PushOptions {
  force: boolean;
  reason: string | undefined;
  ignored: string[];
}

function parsePushOptions(options: string[]): PushOptions {
  const parsed: PushOptions = { force: false, reason: undefined, ignored: [] };
  for (const option of options) {
    if (option === 'force' || option === 'force=true') parsed.force = true;
    else if (option.startsWith('reason=')) parsed.reason = option.slice('reason='.length).trim();
    else parsed.ignored.push(option);
  }
  if (parsed.reason !== undefined && (parsed.reason === '' || parsed.reason.length > MAX_REASON)) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `-o reason= takes 1 to ${MAX_REASON} characters`);
  }
  return parsed;
}

/** The environment a ref names, refused unless it is `refs/environments/<valid name>`. */
function environmentOf(ref: string): string {
  const name = ref.startsWith(`${ENVIRONMENTS_REF}/`) ? ref.slice(ENVIRONMENTS_REF.length + 1) : '';
  if (name === '') throw new SlipwayError(ErrorCode.INVALID_NAME, `push to ${ENVIRONMENTS_REF}/<environment>, e.g. ${ENVIRONMENTS_REF}/staging`);
  // Checked here as well as by promote, whose message would echo a name of any length.
  if (!isValidName(name)) {
    throw new SlipwayError(
      ErrorCode.INVALID_NAME,
      `"${printable(name, 60)}" is not an environment name: use 1-40 lowercase letters, digits and single dashes, starting and ending with a letter or digit`,
      { kind: 'environment' },
    );
  }
  return name;
}

function describeRelease(deps: ServiceDeps, project: string, env: string, release: MovedRelease): string[] {
  const hint = `slipway releases show ${release.id} --project ${project}`;
  if (release.state === 'live') {
    const lines = [`${env} v${release.number} live: ${release.deploymentId} (was ${release.previousDeploymentId ?? 'nothing'})`, environmentUrl(deps.urls, project, env)];
    if (release.clearedPin) lines.push(`unpinned: ${env} was pinned by ${release.clearedPin.by}${release.clearedPin.reason ? ` (${release.clearedPin.reason})` : ''}`);
    if (release.forced) lines.push(`forced by ${release.createdBy}: ${release.reason ?? ''}`);
    return lines;
  }
  if (release.state === 'waiting') {
    const why = release.gates ? verdictSummary(release.gates) : (release.stateReason ?? 'its gates');
    return [`${env} v${release.number} waiting: ${why}`, `It goes live by itself once its gates pass: ${hint}`];
  }
  return [`${env} v${release.number} ${release.state}${release.stateReason ? `: ${release.stateReason}` : ''}`, hint];
}

/**
 * Handles the refs/environments updates of one push, in order, each on its own: one refused
 * promotion does not undo another (git reports each ref). Refusals carry the SlipwayError code;
 * anything else is logged and reported as INTERNAL.
 */
export async function promoteByPush(deps: ServiceDeps, session: PushSession, repo: string, input: PromotionInput, log: FastifyBaseLogger): Promise<PromotionResult[]> {
  const results: PromotionResult[] = [];
  let options: PushOptions;
  try {
    options = parsePushOptions(input.pushOptions);
  } catch (err) {
    if (!isSlipwayError(err)) throw err;
    return input.commands.map((c) => ({ ref: c.ref, status: 'ng', code: err.code, lines: [printable(`${err.code}: ${err.message}`)] }));
  }
  for (const command of input.commands) {
    const refLabel = printable(command.ref, 120);
    try {
      const env = environmentOf(command.ref);
      if (command.after === ZERO_SHA) {
        throw new SlipwayError(
          ErrorCode.INVALID_REQUEST,
          `an environment is not deleted by push: ${ENVIRONMENTS_REF}/${env} only takes a commit to promote (git push slipway <commit>:${ENVIRONMENTS_REF}/${env})`,
          { environment: env },
        );
      }
      if (input.atomic) {
        // A promotion happens when git asks, before the push's other refs are written: it could
        // not be undone if they then failed, so it never shares an all-or-nothing push.
        throw new SlipwayError(ErrorCode.INVALID_REQUEST, `a promotion cannot be part of an --atomic push: push ${ENVIRONMENTS_REF}/${env} on its own`, { environment: env });
      }
      const commit = await peelToCommit(repo, command.after);
      if (commit === undefined) {
        throw new SlipwayError(ErrorCode.INVALID_REQUEST, `${command.after.slice(0, 7)} is not a commit (nor a tag of one): push a commit to ${ENVIRONMENTS_REF}/${env}`, {
          object: command.after,
        });
      }
      const lines: string[] = [];
      try {
        const release = await promote(deps, session.actor, session.projectName, env, { commit, force: options.force || undefined, reason: options.reason });
        lines.push(...describeRelease(deps, session.projectName, env, release));
      } catch (err) {
        // Promoting what already runs there is done already: a script that pushes twice succeeds twice.
        if (!isSlipwayError(err, ErrorCode.ALREADY_LIVE)) throw err;
        const deployment = typeof err.details?.deployment === 'string' ? ` (${err.details.deployment})` : '';
        lines.push(`${env} already runs ${commit.slice(0, 7)}${deployment}: nothing to promote`);
      }
      for (const ignored of options.ignored) lines.push(`ignored push option "${printable(ignored, 60)}" (Slipway knows -o force and -o reason=…)`);
      results.push({ ref: command.ref, status: 'ok', code: null, lines: lines.map((l) => printable(l)) });
    } catch (err) {
      if (isSlipwayError(err)) {
        results.push({ ref: command.ref, status: 'ng', code: err.code, lines: [printable(`${err.code}: ${err.message}`)] });
        continue;
      }
      log.error({ err, ref: refLabel }, 'a promotion by push failed');
      results.push({ ref: command.ref, status: 'ng', code: ErrorCode.INTERNAL, lines: [`INTERNAL: promoting by ${refLabel} failed; see the server log`] });
    }
  }
  return results;
}
