import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../core/bytes.ts';
import { PublishError } from '../publish/errors.ts';
import { silentProgress as silent } from '../publish/progress.ts';
import { DELTA_FALL_BACK, hashTree, isRetryable, uploadMissing, withRetry } from '../publish/upload.ts';
import { formatDuration } from '../core/duration.ts';
import { isSlipwayError } from '../core/errors.ts';
import { redactUrl } from '../core/repo-url.ts';
import { canonicalManifest, validateManifest, type ManifestEntry } from '../core/manifest.ts';
import { deltaSize, diffManifests } from '../core/manifest-delta.ts';
import { serviceSpecOf } from '../core/service-spec.ts';
import { buildSettings, formatConfigError, parseSlipwayConfig, SLIPWAY_CONFIG_FILE } from '../core/slipway-config.ts';
import type { BuildSettings, SlipwayConfig } from '../core/slipway-config.ts';
import type { CreateUploadRequest, DeploymentManifest, DeploymentMeta, Upload } from '../protocol/api.ts';
import { LEASE_HEADER, type BuildReport, type ClaimedBuild, type CompleteRequest } from '../protocol/builds.ts';
import { ApiError } from '../protocol/client.ts';
import type { SlipwayClient } from '../protocol/client.ts';
import { createBuildEnv, runCommand, type CommandResult } from './build-command.ts';
import { BuildFailure } from './build-failure.ts';
import { BuildLog } from './build-log.ts';
import { checkoutCommit } from './checkout.ts';
import { collectOutput } from './collect-output.ts';
import { createSandboxArgs, handOver, sandboxPath } from './sandbox.ts';
import type { SandboxState } from './sandbox.ts';

/** What every build of one runner shares. */
export interface BuildContext {
  client: SlipwayClient;
  serverUrl: string;
  token: string;
  runner: string;
  workDir: string;
  leaseSeconds: number;
  /** Upper bound of the heartbeat interval (it is also at most a third of the lease). */
  heartbeatMs: number;
  killGraceMs: number;
  /** How build commands run: in bubblewrap, unsandboxed (`--unsafe-builds`), or not at all. */
  sandbox: SandboxState;
  /** Kept out of the sandbox even where they lie under a system directory (the server's data dir). */
  hiddenPaths: readonly string[];
  /** `--allow-local-repos`: external repositories on local paths or private hosts are fetched too. */
  allowLocalRepos?: boolean | undefined;
  log: (line: string) => void;
}

/** Why a build stops before it ends on its own. */
export type StopReason = 'canceled' | 'stopped' | 'lease-lost';

/** The server no longer hears this runner about the build: it was re-queued (and maybe claimed again) or ended. */
function isLeaseLost(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'LEASE_LOST';
}

function leaseLostMessage(buildId: string): string {
  return (
    `build ${buildId}: the server refused this runner's lease (LEASE_LOST): the lease ran out and the build went back to ` +
    'the queue (another runner may hold it now), or it ended; abandoning the build'
  );
}

export interface RunningBuild {
  id: string;
  /** Resolves once the build is completed on the server (or given up) and its temp dir removed. */
  done: Promise<void>;
  stop(reason: StopReason): void;
}

const CONCURRENCY = 8;
const ATTEMPTS = 3;
const MAX_CONFIG_BYTES = 256 * 1024;
const MAX_ERROR_LENGTH = 4096;
/** The check Slipway's own test step reports. */
const TEST_CHECK = 'slipway/test';

/**
 * Runs one claimed build: fetch the commit into a fresh temp dir, read slipway.yaml, run
 * `build.command` in a clean environment, upload the output as a deployment, complete the
 * build. A heartbeat keeps the lease and carries cancel requests; every line of the way goes
 * to the build's log. The temp dir is removed whatever happens.
 */
export function startBuild(runnerCtx: BuildContext, claimed: ClaimedBuild): RunningBuild {
  // Everything said about this build carries its lease; without it the server hears nothing.
  const ctx: BuildContext = { ...runnerCtx, client: runnerCtx.client.withHeaders({ [LEASE_HEADER]: claimed.lease }) };
  const abort = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    abort.abort(new Error(reason));
  };
  // Never rejects: whatever goes wrong is logged, and the lease runs out if it was not completed.
  const done = execute(ctx, claimed, abort.signal, () => stopReason, stop).catch((err: unknown) => {
    ctx.log(`build ${claimed.build.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  });
  return { id: claimed.build.id, done, stop };
}

async function execute(
  ctx: BuildContext,
  claimed: ClaimedBuild,
  signal: AbortSignal,
  stopReason: () => StopReason | undefined,
  stop: (reason: StopReason) => void,
): Promise<void> {
  const { build } = claimed;
  const log = new BuildLog(ctx.client, build.id, ctx.runner, {
    log: ctx.log,
    onRefused: (err) => {
      if (!isLeaseLost(err) || stopReason() !== undefined) return;
      ctx.log(leaseLostMessage(build.id));
      stop('lease-lost');
    },
  });
  const heartbeat = startHeartbeat(ctx, build.id, stop);
  const report: BuildReport = {};
  let temp: string | undefined;
  let outcome: CompleteRequest;
  ctx.log(`build ${build.id}: started (${build.project} ${build.commit.slice(0, 12)} ${build.ref})`);
  try {
    temp = await mkdtemp(join(ctx.workDir, `slipway-${build.id}-`));
    const deployment = await steps(ctx, claimed, temp, log, report, signal);
    outcome = { runner: ctx.runner, state: 'succeeded', deployment, report };
  } catch (err) {
    if (isLeaseLost(err) && stopReason() === undefined) {
      ctx.log(leaseLostMessage(build.id));
      stop('lease-lost');
    }
    const reason = stopReason();
    if (reason === 'canceled') {
      log.system('Build canceled');
      outcome = { runner: ctx.runner, state: 'canceled', report };
    } else {
      let error: string;
      if (reason !== undefined) error = reason === 'stopped' ? 'runner stopped' : 'the runner lost its lease on the build';
      else if (err instanceof BuildFailure || isSlipwayError(err)) error = err.message;
      else if (err instanceof ApiError || err instanceof PublishError) error = `${err.message} (${err.code})`;
      else {
        error = `runner error: ${err instanceof Error ? err.message : String(err)}`;
        ctx.log(`build ${build.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      // A failure whose lines are in the log already (each slipway.yaml error) is not repeated.
      log.system(err instanceof BuildFailure && err.logged && reason === undefined ? 'Build failed' : `Build failed: ${error}`);
      outcome = { runner: ctx.runner, state: 'failed', error: truncate(error, MAX_ERROR_LENGTH), report };
    }
  } finally {
    heartbeat.stop();
  }
  await log.close();
  if (stopReason() === 'lease-lost') {
    ctx.log(`build ${build.id}: lease lost; not completing it (the server re-queues or fails it)`);
  } else {
    try {
      await withRetry(() => ctx.client.completeBuild(build.id, outcome), 5, 500);
      ctx.log(`build ${build.id}: ${outcome.state}${outcome.state === 'failed' ? `: ${outcome.error}` : ''}`);
    } catch (err) {
      if (isLeaseLost(err)) ctx.log(leaseLostMessage(build.id));
      else ctx.log(`build ${build.id}: completing as ${outcome.state} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (temp !== undefined) await removeDir(temp, ctx.log);
}

async function steps(
  ctx: BuildContext,
  claimed: ClaimedBuild,
  temp: string,
  log: BuildLog,
  report: BuildReport,
  signal: AbortSignal,
): Promise<string> {
  const { build } = claimed;
  const short = build.commit.slice(0, 12);
  const checkout = join(temp, 'src');
  const url = claimed.gitUrl ?? `${ctx.serverUrl.replace(/\/+$/, '')}/git/${encodeURIComponent(build.project)}.git`;
  const { sandbox } = ctx;
  if (sandbox.mode === 'unavailable') {
    throw new BuildFailure(`this runner has no build sandbox: ${sandbox.reason} (install bubblewrap, or start it with --unsafe-builds to build without one)`);
  }

  log.system(`Fetching ${short} (${build.ref}) from ${redactUrl(url)}`);
  const commit = await checkoutCommit({
    url,
    own: claimed.gitUrl === null,
    allowLocalRepos: ctx.allowLocalRepos,
    authHeader:
      claimed.gitUrl === null
        ? [`Authorization: Bearer ${ctx.token}`, `Slipway-Lease: ${claimed.lease}`]
        : claimed.gitAuthorization
          ? `Authorization: ${claimed.gitAuthorization}`
          : undefined,
    commit: build.commit,
    ref: build.ref,
    gitDir: join(temp, 'git'),
    workTree: checkout,
    signal,
    note: (text) => log.system(text),
  });
  report.author = truncate(commit.author, 255);
  report.message = truncate(commit.message, 4096);
  if (commit.history.length > 0) report.commits = commit.history;
  log.system(`Commit ${short} by ${commit.author}: ${commit.message}`);

  const config = await readConfig(checkout, log);
  const settings = buildSettings(config);
  if (config.environments) {
    report.environments = Object.fromEntries(
      Object.entries(config.environments).map(([name, env]) => [
        name,
        { ...(env.follows !== undefined ? { follows: env.follows } : {}), ...(env.auto !== undefined ? { auto: env.auto } : {}) },
      ]),
    );
  }
  if (config.previews) report.previews = config.previews;
  // The server reads the policy from the text itself, so its errors can name yaml lines too.
  if (config.text !== undefined) report.config = config.text;

  const timeoutMs = settings.timeoutMs ?? claimed.timeoutSeconds * 1000;
  const needsCommands = settings.command !== undefined || config.test !== undefined;
  const runStep = needsCommands ? await prepareCommands(ctx, claimed, temp, checkout, settings, log, signal) : undefined;
  if (settings.command !== undefined && runStep) {
    log.system(`Running: ${settings.command}`);
    const result = await runStep(settings.command, timeoutMs);
    const failure = commandFailure('build', result, timeoutMs);
    if (failure !== undefined) throw new BuildFailure(failure);
    log.system(`Build command succeeded in ${formatDuration(result.durationMs)}`);
  } else {
    log.system(`No build.command in ${SLIPWAY_CONFIG_FILE}: deploying the repository as it is`);
  }
  if (signal.aborted) throw new BuildFailure('build stopped');

  const tree = await collectOutput(checkout, settings.output);
  for (const warning of tree.warnings) log.system(`warning: ${warning}`);
  const files = await hashTree(tree.files, CONCURRENCY, silent);
  const manifest = validateManifest(files);
  const meta: DeploymentMeta = {
    source: 'build',
    build: build.id,
    commit: build.commit,
    author: report.author,
    message: report.message,
  };
  if (build.branch !== null) meta.branch = build.branch;
  if (config.serve?.spa) meta.spa = true;
  const service = serviceSpecOf(config);
  if (service !== undefined) meta.service = service;

  const { upload, base } = await createBuildUpload(ctx, build, manifest.entries, meta, log);
  const missing = new Set(upload.missing).size;
  log.system(`Uploading ${missing === 0 ? 'no' : missing} new of ${files.length} files (${formatBytes(manifest.totalBytes)} in all)…`);
  let deployment = upload.finalized;
  if (deployment === undefined) {
    await uploadMissing(ctx.client, upload.missing, files, { concurrency: CONCURRENCY, attempts: ATTEMPTS, progress: silent });
    if (signal.aborted) throw new BuildFailure('build stopped');
    deployment = await withRetry(() => ctx.client.finalizeUpload(build.project, upload.id, base === undefined ? {} : { base }), ATTEMPTS, 250);
  }
  log.system(`Deployed ${deployment.id}: ${deployment.url}`);
  if (config.test !== undefined && runStep) await testStep(ctx, build.id, config.test, timeoutMs, runStep, log, signal);
  return deployment.id;
}

/**
 * Creates the build's upload, to be finalized at once if the server lacks no blob: its manifest
 * (`entries`, validated and sorted) as a delta against the latest deployment of the project
 * from the build's branch when there is one and the delta is smaller, else whole — also when
 * the server cannot apply the delta (DELTA_FALL_BACK), as the CLI does. Answers with the base
 * the upload was sent against, if any.
 */
async function createBuildUpload(
  ctx: BuildContext,
  build: ClaimedBuild['build'],
  entries: ManifestEntry[],
  meta: DeploymentMeta,
  log: BuildLog,
): Promise<{ upload: Upload; base?: string }> {
  const create = (body: CreateUploadRequest): Promise<Upload> => withRetry(() => ctx.client.createUpload(build.project, body), ATTEMPTS, 250);
  let base: DeploymentManifest | null = null;
  try {
    base = (await withRetry(() => ctx.client.getBuildBase(build.id), ATTEMPTS, 250)).base;
  } catch (err) {
    // Only a saving: without a base (a server before bases, say) the whole manifest goes.
    if (isLeaseLost(err)) throw err;
    log.system(`Could not look up the last deployment of ${build.branch ?? 'this build'}: ${err instanceof Error ? err.message : String(err)}; sending the whole manifest`);
  }
  if (base !== null) {
    const delta = diffManifests(base.files, entries);
    if (deltaSize(delta) <= entries.length) {
      const manifestDigest = createHash('sha256').update(canonicalManifest(entries)).digest('hex');
      try {
        const upload = await create({ delta: { base: base.deployment, manifestDigest, ...delta }, meta, finalize: true });
        log.system(`Manifest as changes against ${base.deployment} (${delta.added.length} added, ${delta.changed.length} changed, ${delta.removed.length} removed)`);
        return { upload, base: base.deployment };
      } catch (err) {
        if (!(err instanceof ApiError) || !DELTA_FALL_BACK.has(err.code)) throw err;
        log.system(`The server did not take the changes against ${base.deployment} (${err.code}); sending the whole manifest`);
      }
    }
  }
  return { upload: await create({ files: entries, meta, finalize: true }) };
}

/** Runs one command of the build (the build command, the test step) in the checkout, its output in the build log. */
type RunStep = (command: string, timeoutMs: number) => Promise<CommandResult>;

/**
 * Makes the sandbox every command of this build runs in: a temp dir, a HOME (one cache per
 * project, kept between builds, when sandboxed) handed to the build user, and the clean
 * environment. The build command and the test step share it, so the test sees exactly what the
 * build left.
 */
async function prepareCommands(
  ctx: BuildContext,
  claimed: ClaimedBuild,
  temp: string,
  checkout: string,
  settings: BuildSettings,
  log: BuildLog,
  signal: AbortSignal,
): Promise<RunStep> {
  const { build } = claimed;
  const { sandbox } = ctx;
  if (sandbox.mode === 'unavailable') throw new BuildFailure(`this runner has no build sandbox: ${sandbox.reason}`);
  const tmpDir = join(temp, 'tmp');
  await mkdir(tmpDir);
  let home: string;
  if (sandbox.mode === 'sandboxed') {
    // One cache per project, kept between builds (npm, pip and the like keep theirs under HOME).
    if (!/^[a-z0-9][a-z0-9-]*$/.test(build.project)) throw new BuildFailure(`invalid project name "${build.project}"`);
    home = join(ctx.workDir, 'cache', build.project);
    await mkdir(home, { recursive: true });
    await handOver(sandbox.host, [tmpDir, home], [checkout]);
  } else {
    home = join(temp, 'home');
    await mkdir(home);
    log.system('warning: this runner builds without a sandbox (--unsafe-builds): the command runs as the runner\'s user and sees what it sees');
  }
  const env = createBuildEnv({
    path: sandbox.mode === 'sandboxed' ? sandboxPath(process.env.PATH, sandbox.host) : process.env.PATH,
    home,
    tmpDir,
    lang: process.env.LANG,
    env: settings.env,
    commit: build.commit,
    branch: build.branch,
    ref: build.ref,
    project: build.project,
    buildId: build.id,
  });
  if (!settings.network) {
    log.system(sandbox.mode === 'sandboxed' ? 'Network: off (build.network: false)' : 'warning: build.network: false needs the sandbox; this build has the network');
  }
  return (command, timeoutMs) =>
    runCommand({
      command,
      ...(sandbox.mode === 'sandboxed'
        ? {
            spawn: {
              file: sandbox.host.bwrapPath,
              args: createSandboxArgs(sandbox.host, {
                command,
                env,
                cwd: checkout,
                writable: [tmpDir, home],
                network: settings.network,
                hidden: ctx.hiddenPaths,
              }),
            },
            // bwrap's own: the build's variables are set inside, after the switch to the build's user.
            cwd: '/',
            env: { PATH: '/usr/bin:/bin' },
          }
        : { cwd: checkout, env }),
      timeoutMs,
      killGraceMs: ctx.killGraceMs,
      signal,
      onLine: (stream, text, at) => log.line(stream, text, at),
    });
}

/** Why a command failed, in the build log's words; undefined when it exited 0. */
function commandFailure(what: 'build' | 'test', result: CommandResult, timeoutMs: number): string | undefined {
  if (result.aborted) return `${what} stopped`;
  if (result.timedOut) return `${what} timed out after ${formatDuration(timeoutMs)}`;
  if (result.error) return `cannot run the ${what} command: ${result.error.message}`;
  if (result.exitCode !== 0) return result.signal ? `${what} command was killed by ${result.signal}` : `${what} command exited with code ${result.exitCode}`;
  return undefined;
}

/**
 * `test:` of slipway.yaml, run once the deployment is uploaded: the bytes it judges are fixed
 * before it starts (a test cannot change what was deployed), and the build completes
 * afterwards, so the check is known by the time environments consider the deployment. Its
 * outcome is the check `slipway/test` on the commit (pending while it runs), reported under
 * the build's lease; a failing test fails the check, not the build: the deployment exists, a
 * parallel-mode environment may take it, a gate-mode one waits for the check and refuses it red.
 * Stopped mid-way (canceled), the check is reported failed so it does not stay pending.
 */
async function testStep(ctx: BuildContext, buildId: string, command: string, timeoutMs: number, runStep: RunStep, log: BuildLog, signal: AbortSignal): Promise<void> {
  const report = async (state: 'pending' | 'success' | 'failure', description: string): Promise<void> => {
    try {
      await withRetry(() => ctx.client.reportBuildCheck(buildId, { runner: ctx.runner, name: TEST_CHECK, state, description }), ATTEMPTS, 250);
    } catch (err) {
      if (isLeaseLost(err)) throw err;
      log.system(`warning: could not report ${TEST_CHECK} ${state}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await report('pending', 'running the test step');
  log.system(`Running test: ${command}`);
  const result = await runStep(command, timeoutMs);
  const failure = commandFailure('test', result, timeoutMs);
  if (failure === undefined) {
    log.system(`Test command succeeded in ${formatDuration(result.durationMs)}: ${TEST_CHECK} is success`);
    await report('success', `passed in ${formatDuration(result.durationMs)}`);
  } else {
    log.system(`Test failed: ${failure}: ${TEST_CHECK} is failure (the deployment stays; environments gated on ${TEST_CHECK} will not take it)`);
    await report('failure', failure);
  }
  if (signal.aborted) throw new BuildFailure('build stopped');
}

/** slipway.yaml of the checkout; absent means defaults. A bad one fails the build, each error logged. */
async function readConfig(checkout: string, log: BuildLog): Promise<SlipwayConfig & { text?: string }> {
  const path = join(checkout, SLIPWAY_CONFIG_FILE);
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      log.system(`No ${SLIPWAY_CONFIG_FILE}: using the defaults`);
      return {};
    }
    throw err;
  }
  // A symlink could make the runner read (and quote in errors) a file of its own machine.
  if (!info.isFile()) throw new BuildFailure(`${SLIPWAY_CONFIG_FILE} must be a regular file`);
  if (info.size > MAX_CONFIG_BYTES) throw new BuildFailure(`${SLIPWAY_CONFIG_FILE} is larger than ${MAX_CONFIG_BYTES} bytes`);
  const text = await readFile(path, 'utf8');
  const parsed = parseSlipwayConfig(text);
  if (!parsed.ok) {
    const lines = parsed.errors.map((e) => formatConfigError(e));
    for (const line of lines) log.system(line);
    throw new BuildFailure(lines.join('\n'), { logged: true });
  }
  return { ...parsed.config, text };
}

/**
 * Renews the lease every third of it (and at least every `heartbeatMs`, so a cancel takes
 * effect within seconds). `{cancel: true}` stops the build as canceled; an answer saying the
 * build is no longer this runner's, or no answer for a whole lease, stops it as lost.
 */
function startHeartbeat(ctx: BuildContext, buildId: string, stop: (reason: StopReason) => void): { stop(): void } {
  const intervalMs = Math.max(100, Math.min((ctx.leaseSeconds * 1000) / 3, ctx.heartbeatMs));
  let lastOk = Date.now();
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    ctx.client
      .heartbeat(buildId, { runner: ctx.runner, leaseSeconds: ctx.leaseSeconds })
      .then((answer) => {
        lastOk = Date.now();
        if (answer.cancel) stop('canceled');
      })
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (isLeaseLost(err)) {
          ctx.log(leaseLostMessage(buildId));
          stop('lease-lost');
        } else if (!isRetryable(err)) {
          ctx.log(`build ${buildId}: heartbeat refused (${message}); stopping it`);
          stop('lease-lost');
        } else if (Date.now() - lastOk > ctx.leaseSeconds * 1000) {
          ctx.log(`build ${buildId}: no heartbeat for a whole lease (${message}); stopping it`);
          stop('lease-lost');
        } else {
          ctx.log(`build ${buildId}: heartbeat failed (${message}); retrying`);
        }
      })
      .finally(() => {
        inFlight = false;
      });
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

/** rm -rf that also copes with read-only directories a build left (Go's module cache). */
async function removeDir(dir: string, log: (line: string) => void): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EPERM') {
      log(`cannot remove ${dir}: ${(err as Error).message}`);
      return;
    }
  }
  try {
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    log(`cannot remove ${dir}: ${(err as Error).message}`);
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
