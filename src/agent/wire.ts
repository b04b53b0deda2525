/**
 * The agent's side of the agent protocol (/api/v1/agent/*): a small fetch client whose every
 * call answers a result instead of throwing, so one failed request never kills the poll loop.
 * The shapes are protocol/agents.ts's; answers are checked where they enter (ids, digests,
 * sizes), because a release directory is built from them.
 */

import { AGENT_STATES } from '../core/glossary.ts';
import type { AgentDeployment, AgentReport, AgentRun, Assignment, EnrollResponse, ServiceSpec } from '../protocol/agents.ts';

export type { Assignment, ServiceSpec };
export type RunTarget = AgentRun;
export type DeploymentFiles = AgentDeployment;
export type Report = AgentReport;
export type Enrolled = EnrollResponse;
export const REPORT_STATES = AGENT_STATES;
export type ReportState = (typeof AGENT_STATES)[number];

export type Result<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

/** Ids the server hands out (deployments, releases, agents): they name directories and files here. */
export const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const DIGEST = /^[0-9a-f]{64}$/;

function fail(status: number, code: string, message: string): { ok: false; status: number; code: string; message: string } {
  return { ok: false, status, code, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || value === null || typeof value === 'string';
}

/** A service spec as the server sent it, or undefined when it is not one. */
export function parseServiceSpec(value: unknown): ServiceSpec | null | undefined {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || typeof value.start !== 'string' || value.start.length === 0) return undefined;
  const port = value.port;
  if (port !== undefined && port !== null && !(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)) return undefined;
  if (!optionalString(value.health) || !optionalString(value.release)) return undefined;
  const stop = value.stop_timeout_ms;
  if (stop !== undefined && stop !== null && !(Number.isInteger(stop) && (stop as number) >= 0)) return undefined;
  const hooks: ServiceSpec['hooks'] = {};
  if (value.hooks !== undefined && value.hooks !== null) {
    if (!isObject(value.hooks)) return undefined;
    for (const name of ['before_install', 'after_install', 'before_switch', 'after_switch'] as const) {
      const hook = value.hooks[name];
      if (!optionalString(hook)) return undefined;
      if (typeof hook === 'string' && hook.length > 0) hooks[name] = hook;
    }
  }
  return {
    start: value.start,
    ...(typeof port === 'number' ? { port } : {}),
    ...(typeof value.health === 'string' ? { health: value.health } : {}),
    ...(typeof stop === 'number' ? { stop_timeout_ms: stop } : {}),
    ...(typeof value.release === 'string' && value.release.length > 0 ? { release: value.release } : {}),
    ...(Object.keys(hooks).length ? { hooks } : {}),
  };
}

function parseAssignment(body: unknown): Assignment | undefined {
  if (!isObject(body) || !Number.isSafeInteger(body.rev) || !isObject(body.agent) || !isId(body.agent.id)) return undefined;
  const run = body.run;
  if (run !== null && !(isObject(run) && isId(run.releaseId) && isId(run.deploymentId) && Number.isSafeInteger(run.releaseNumber))) return undefined;
  const prepare = body.prepare ?? null;
  if (prepare !== null && !(isObject(prepare) && isId(prepare.deploymentId))) return undefined;
  const phase = body.releasePhase ?? null;
  if (phase !== null && !(isObject(phase) && isId(phase.releaseId) && isId(phase.deploymentId) && typeof phase.command === 'string')) return undefined;
  const service = parseServiceSpec(body.service);
  if (service === undefined) return undefined;
  const version = body.agentVersion ?? null;
  if (version !== null && !(isObject(version) && typeof version.version === 'string' && typeof version.sha256 === 'string' && DIGEST.test(version.sha256) && typeof version.url === 'string')) {
    return undefined;
  }
  return {
    rev: body.rev as number,
    agent: { id: body.agent.id, name: String(body.agent.name) },
    project: String(body.project),
    environment: String(body.environment),
    run: run === null ? null : { releaseId: run.releaseId as string, releaseNumber: run.releaseNumber as number, deploymentId: run.deploymentId as string },
    prepare: prepare === null ? null : { deploymentId: prepare.deploymentId as string },
    releasePhase: phase === null ? null : { releaseId: phase.releaseId as string, deploymentId: phase.deploymentId as string, command: phase.command as string },
    service,
    keep: Number.isInteger(body.keep) && (body.keep as number) >= 1 ? (body.keep as number) : 5,
    heartbeatMs: Number.isInteger(body.heartbeatMs) && (body.heartbeatMs as number) >= 100 ? (body.heartbeatMs as number) : 15_000,
    agentVersion: version === null ? null : { version: version.version as string, sha256: version.sha256 as string, url: version.url as string },
  };
}

function parseDeployment(body: unknown): DeploymentFiles | undefined {
  if (!isObject(body) || !isId(body.id) || typeof body.manifestDigest !== 'string' || !Array.isArray(body.files)) return undefined;
  const service = parseServiceSpec(body.service);
  if (service === undefined) return undefined;
  const files: DeploymentFiles['files'] = [];
  for (const file of body.files as unknown[]) {
    if (!isObject(file) || typeof file.path !== 'string' || typeof file.sha256 !== 'string' || !Number.isSafeInteger(file.size) || !Number.isSafeInteger(file.mode)) return undefined;
    files.push({ path: file.path, sha256: file.sha256, size: file.size as number, mode: file.mode as number });
  }
  return { id: body.id, manifestDigest: body.manifestDigest, service, files };
}

function parseEnrolled(body: unknown): Enrolled | undefined {
  if (!isObject(body) || !isObject(body.agent) || !isId(body.agent.id) || typeof body.credential !== 'string' || body.credential.length === 0) return undefined;
  return { agent: { id: body.agent.id, name: String(body.agent.name) }, project: String(body.project), environment: String(body.environment), credential: body.credential };
}

function parseConfig(body: unknown): { version: number | null; vars: Record<string, string> } | undefined {
  if (!isObject(body) || !isObject(body.vars)) return undefined;
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(body.vars)) {
    if (typeof value !== 'string') return undefined;
    vars[key] = value;
  }
  return { version: typeof body.version === 'number' ? body.version : null, vars };
}

const enc = encodeURIComponent;

export class AgentClient {
  readonly server: string;
  credential: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(server: string, credential?: string, fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)) {
    this.server = server.replace(/\/+$/, '');
    this.credential = credential;
    this.#fetch = fetchImpl;
  }

  /** A response, or a failed result: status 0 and NETWORK_ERROR when the server was not reached. */
  async send(method: string, path: string, options: { body?: unknown; signal?: AbortSignal | undefined; timeoutMs?: number } = {}): Promise<Result<Response>> {
    const url = new URL(path, `${this.server}/`);
    const headers: Record<string, string> = {};
    // The credential goes to the server only, never to another origin a URL in an answer names.
    if (this.credential !== undefined && url.origin === new URL(this.server).origin) headers.authorization = `Bearer ${this.credential}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])];
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : err instanceof Error ? `: ${err.message}` : '';
      return fail(0, 'NETWORK_ERROR', `cannot reach ${this.server}${cause}`);
    }
    if (response.ok) return { ok: true, value: response };
    let code = 'HTTP_ERROR';
    let message = `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // Not an error envelope (a proxy's page): the status says enough.
      code = 'HTTP_ERROR';
    }
    return fail(response.status, code, message);
  }

  async #json<T>(method: string, path: string, parse: (body: unknown) => T | undefined, options: { body?: unknown; signal?: AbortSignal | undefined; timeoutMs?: number } = {}): Promise<Result<T>> {
    const sent = await this.send(method, path, options);
    if (!sent.ok) return sent;
    let body: unknown;
    try {
      body = await sent.value.json();
    } catch (err) {
      return fail(sent.value.status, 'BAD_ANSWER', `the server's answer to ${method} ${path} is not JSON: ${(err as Error).message}`);
    }
    const parsed = parse(body);
    if (parsed === undefined) return fail(sent.value.status, 'BAD_ANSWER', `the server's answer to ${method} ${path} has an unexpected shape`);
    return { ok: true, value: parsed };
  }

  enroll(body: { token: string; name: string; version: string; address: string; port: number }): Promise<Result<Enrolled>> {
    return this.#json('POST', '/api/v1/agent/enroll', parseEnrolled, { body });
  }

  assignment(after: number, waitSeconds: number, signal?: AbortSignal): Promise<Result<Assignment>> {
    return this.#json('GET', `/api/v1/agent/assignment?after=${after}&wait=${waitSeconds}`, parseAssignment, { signal, timeoutMs: waitSeconds * 1000 + 15_000 });
  }

  report(report: Report): Promise<Result<{ rev: number | null }>> {
    return this.#json('POST', '/api/v1/agent/report', (body) => (isObject(body) ? { rev: typeof body.rev === 'number' ? body.rev : null } : undefined), { body: report });
  }

  deployment(id: string): Promise<Result<DeploymentFiles>> {
    return this.#json('GET', `/api/v1/agent/deployments/${enc(id)}`, parseDeployment, { timeoutMs: 60_000 });
  }

  config(releaseId: string): Promise<Result<{ version: number | null; vars: Record<string, string> }>> {
    return this.#json('GET', `/api/v1/agent/releases/${enc(releaseId)}/config`, parseConfig);
  }

  blob(digest: string, deploymentId: string, signal?: AbortSignal): Promise<Result<Response>> {
    return this.send('GET', `/api/v1/agent/blobs/${enc(digest)}?deployment=${enc(deploymentId)}`, { signal, timeoutMs: 10 * 60_000 });
  }

  /** GET of an absolute or server-relative URL (the agent bundle of a self-upgrade). */
  download(url: string): Promise<Result<Response>> {
    return this.send('GET', url, { timeoutMs: 5 * 60_000 });
  }
}
