import { parseInstant } from '../../core/deploy-windows.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { assertName } from '../../core/names.ts';
import type { Actor } from '../../core/release-planner.ts';
import { newEnvironmentRow, type FreezeRow, type ProjectRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { getEnvironment } from './environments.ts';
import { newId } from './ids.ts';
import { wakePipeline } from './pipeline-wake.ts';
import { getProject } from './projects.ts';

/**
 * Freezes deny: from `from` until `until` nothing goes live in the environment but an admin's
 * forced release (the `freeze` gate holds automation, promotions are refused with FROZEN).
 * Creating and lifting one is audited; lifting one wakes the project's pipeline in the same
 * transaction, so what it held is looked at again at once.
 */

/** A freeze is a holiday or an incident, not a policy: longer than this is a mistake. */
const MAX_FREEZE_MS = 366 * 24 * 60 * 60_000;

function instant(field: 'from' | 'until', text: string): Date {
  const parsed = parseInstant(text);
  if (!parsed.ok) throw new SlipwayError(ErrorCode.FREEZE_INVALID, `${field}: ${parsed.error}`, { [field]: text });
  return parsed.at;
}

export interface FreezeInput {
  /** Absent: now. */
  from?: string | undefined;
  until: string;
  reason: string;
}

export async function createFreeze(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, input: FreezeInput): Promise<FreezeRow & { environment: string }> {
  requireRole(actor, 'deployer');
  const project = await getProject(deps, projectName);
  assertName('environment', envName);
  const now = deps.clock.now();
  const from = input.from === undefined ? now : instant('from', input.from);
  const until = instant('until', input.until);
  const reason = input.reason.trim();
  if (reason === '') throw new SlipwayError(ErrorCode.REASON_REQUIRED, 'a freeze needs a reason');
  if (until.getTime() <= from.getTime()) {
    throw new SlipwayError(ErrorCode.FREEZE_INVALID, `the freeze ends (${until.toISOString()}) before it starts (${from.toISOString()})`, {
      from: from.toISOString(),
      until: until.toISOString(),
    });
  }
  if (until.getTime() <= now.getTime()) throw new SlipwayError(ErrorCode.FREEZE_INVALID, `the freeze ended already (${until.toISOString()})`, { until: until.toISOString() });
  if (until.getTime() - from.getTime() > MAX_FREEZE_MS) throw new SlipwayError(ErrorCode.FREEZE_INVALID, 'a freeze lasts at most 366 days', { from: from.toISOString(), until: until.toISOString() });
  return deps.store.transaction(async (tx) => {
    const env = await tx.ensureEnvironment(newEnvironmentRow({ id: newId('env'), projectId: project.id, name: envName, createdAt: now.toISOString() }));
    const row: FreezeRow = {
      id: newId('frz'),
      projectId: project.id,
      environmentId: env.id,
      from: from.toISOString(),
      until: until.toISOString(),
      reason,
      createdBy: actor.name,
      createdAt: now.toISOString(),
    };
    await tx.insertFreeze(row);
    await recordEvent(tx, now, actor, 'environment.freeze', {
      projectId: project.id,
      environment: env.name,
      target: row.id,
      reason,
      after: { from: row.from, until: row.until },
    });
    // What is open is looked at again: a release about to go live is held from the freeze's start.
    await wakePipeline(tx, deps.clock, project.id, `${env.name} frozen (${row.id})`, row.from);
    return { ...row, environment: env.name };
  });
}

/**
 * Lifts a freeze: the one named, or the environment's only freeze that has not ended.
 * FREEZE_NOT_FOUND when there is none (or the id is another environment's); several and no id:
 * FREEZE_INVALID listing them.
 */
export async function deleteFreeze(deps: ServiceDeps, actor: Actor, projectName: string, envName: string, id: string | undefined): Promise<FreezeRow & { environment: string }> {
  requireRole(actor, 'deployer');
  const { project, environment: env } = await getEnvironment(deps, projectName, envName);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    let freeze: FreezeRow | undefined;
    if (id === undefined) {
      const open = await tx.listFreezes(env.id, now.toISOString());
      if (open.length > 1) {
        throw new SlipwayError(ErrorCode.FREEZE_INVALID, `${env.name} has ${open.length} freezes: name one (${open.map((f) => f.id).join(', ')})`, { freezes: open.map((f) => f.id) });
      }
      freeze = open[0];
    } else {
      freeze = await tx.findFreeze(id);
    }
    if (!freeze || freeze.environmentId !== env.id) {
      throw new SlipwayError(ErrorCode.FREEZE_NOT_FOUND, id === undefined ? `${env.name} is not frozen` : `no freeze ${id} in ${projectName} ${env.name}`, { freeze: id ?? null });
    }
    if (Date.parse(freeze.until) <= now.getTime()) {
      throw new SlipwayError(ErrorCode.FREEZE_NOT_FOUND, `freeze ${freeze.id} of ${env.name} ended at ${freeze.until}`, { freeze: freeze.id, until: freeze.until });
    }
    if (!(await tx.deleteFreeze(freeze.id))) throw new SlipwayError(ErrorCode.FREEZE_NOT_FOUND, `freeze ${freeze.id} was lifted meanwhile`, { freeze: freeze.id });
    await recordEvent(tx, now, actor, 'environment.unfreeze', {
      projectId: project.id,
      environment: env.name,
      target: freeze.id,
      reason: null,
      before: { from: freeze.from, until: freeze.until, reason: freeze.reason, by: freeze.createdBy },
    });
    // Releases the freeze held wait no more.
    await wakePipeline(tx, deps.clock, project.id, `${env.name} unfrozen (${freeze.id})`);
    return { ...freeze, environment: env.name };
  });
}

/** Freezes of the project (of one environment when given) that have not ended, by start. */
export async function listFreezes(deps: ServiceDeps, projectName: string, envName?: string): Promise<(FreezeRow & { environment: string })[]> {
  const project: ProjectRow = await getProject(deps, projectName);
  const envs = await deps.store.listEnvironments(project.id);
  const names = new Map(envs.map((e) => [e.id, e.name]));
  const now = deps.clock.now().toISOString();
  const rows = envName === undefined ? await deps.store.listProjectFreezes(project.id, now) : await deps.store.listFreezes((await getEnvironment(deps, projectName, envName)).environment.id, now);
  return rows.map((r) => ({ ...r, environment: names.get(r.environmentId) ?? r.environmentId }));
}
