import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The hook script git runs after every push; plain JavaScript so node runs it without tsx. */
export const POST_RECEIVE_SCRIPT = fileURLToPath(new URL('./post-receive.mjs', import.meta.url));

/** The hook script git hands refs/environments updates to (promotions by push; see promotions.ts). */
export const PROC_RECEIVE_SCRIPT = fileURLToPath(new URL('./proc-receive.mjs', import.meta.url));

/** Folder under the repos root holding the hooks every repository uses (through core.hooksPath). */
const HOOKS_DIR = '.hooks';

/**
 * Settings every Slipway repository runs with. They are passed to git on each request (see
 * `gitConfigEnv`) rather than trusted to each repository's config file, so a repository created
 * by an older version, or a moved data dir, still behaves.
 */
export function repoSettings(reposDir: string): [string, string][] {
  return [
    ['core.hooksPath', join(reposDir, HOOKS_DIR)],
    // Access is decided by Slipway's auth before git runs; git must not refuse on its own.
    ['http.receivepack', 'true'],
    ['http.uploadpack', 'true'],
    ['receive.denyDeletes', 'false'],
    ['receive.denyNonFastForwards', 'false'],
    // Updates under refs/environments are promotions: git gives them to the proc-receive hook
    // instead of writing them, so no such ref is ever stored.
    ['receive.procReceiveRefs', 'refs/environments'],
    // `git push -o force -o reason=…` (admin break-glass for a promotion).
    ['receive.advertisePushOptions', 'true'],
    // Runners fetch the exact commit of a build, which may no longer be a branch tip.
    ['uploadpack.allowAnySHA1InWant', 'true'],
  ];
}

/** Where the repositories live unless the server says otherwise. */
export function defaultReposDir(dataDir: string): string {
  return join(dataDir, 'repos');
}

export function repoPath(reposDir: string, project: string): string {
  return join(reposDir, `${project}.git`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Writes the hooks shared by every repository — post-receive (record the push, follow its
 * builds) and proc-receive (promotions by push) — each a shell wrapper that runs its script
 * with this server's node (a `#!` line cannot hold a path with spaces). Rewritten at each start
 * so an upgraded node or a moved checkout never leaves a stale hook behind.
 */
export async function installHooks(reposDir: string): Promise<void> {
  const dir = join(reposDir, HOOKS_DIR);
  await mkdir(dir, { recursive: true });
  await writeHook(join(dir, 'post-receive'), POST_RECEIVE_SCRIPT);
  await writeHook(join(dir, 'proc-receive'), PROC_RECEIVE_SCRIPT);
}

async function writeHook(target: string, script: string): Promise<void> {
  const body = `#!/bin/sh\n# Written by Slipway at start; edits are lost.\nexec ${shellQuote(process.execPath)} ${shellQuote(script)}\n`;
  // Unchanged since the last start: nothing to write (a server must start on a full disk).
  const current = await readFile(target, 'utf8').catch(() => undefined);
  if (current === body && ((await stat(target)).mode & 0o777) === 0o755) return;
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, body, { mode: 0o755 });
    await chmod(temp, 0o755);
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Returns the bare repository of a project, creating it on first use. Creation happens in a
 * temp dir renamed into place, so a crash or a concurrent first push leaves either no
 * repository or a complete one, never half of one.
 */
export function createRepoEnsurer(reposDir: string): (project: string) => Promise<string> {
  const pending = new Map<string, Promise<string>>();
  return (project) => {
    let promise = pending.get(project);
    if (promise === undefined) {
      promise = ensureRepo(reposDir, project).finally(() => pending.delete(project));
      pending.set(project, promise);
    }
    return promise;
  };
}

async function ensureRepo(reposDir: string, project: string): Promise<string> {
  const path = repoPath(reposDir, project);
  if (await exists(join(path, 'HEAD'))) return path;
  await mkdir(reposDir, { recursive: true });
  const temp = join(reposDir, `.init-${project}-${randomBytes(6).toString('hex')}.git`);
  try {
    await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', temp]);
    for (const [key, value] of repoSettings(reposDir)) {
      if (key === 'core.hooksPath') continue;
      await run('git', ['--git-dir', temp, 'config', key, value]);
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    // Another server process created it first: theirs is as good as ours.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EEXIST' || code === 'ENOTEMPTY') && (await exists(join(path, 'HEAD')))) return path;
    throw err;
  }
  return path;
}

/**
 * Points HEAD at a branch that exists when it names none (a repository whose first push was
 * `master`, or whose default branch was deleted), so clones check out something. Prefers main,
 * then master, then the first branch pushed.
 */
export async function repairHead(path: string, pushedBranches: string[]): Promise<void> {
  const head = await run('git', ['--git-dir', path, 'rev-parse', '--verify', '--quiet', 'HEAD']).then(
    () => true,
    (err: unknown) => {
      // Exit 1 is git's "no such commit"; anything else is a real failure worth surfacing.
      if ((err as { code?: unknown }).code === 1) return false;
      throw err;
    },
  );
  if (head) return;
  const { stdout } = await run('git', ['--git-dir', path, 'for-each-ref', '--format=%(refname)', 'refs/heads/']);
  const branches = stdout.split('\n').filter((line) => line !== '');
  const choice = ['refs/heads/main', 'refs/heads/master', ...pushedBranches].find((ref) => branches.includes(ref)) ?? branches[0];
  if (choice !== undefined) await run('git', ['--git-dir', path, 'symbolic-ref', 'HEAD', choice]);
}

/**
 * The commit an object names: itself for a commit, the tagged commit for an annotated tag
 * (whose ref points at the tag object, not at what is built), undefined for a tag of a tree
 * or blob, which has nothing to build.
 */
export async function peelToCommit(path: string, sha: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['--git-dir', path, 'rev-parse', '--verify', '--quiet', `${sha}^{commit}`]);
    return stdout.trim();
  } catch (err) {
    if ((err as { code?: unknown }).code === 1) return undefined;
    throw err;
  }
}

/** Whether the repository at `path` has `commit` as a commit; false when there is no repository either. */
export async function hasCommit(path: string, commit: string): Promise<boolean> {
  if (!(await exists(join(path, 'HEAD')))) return false;
  const peeled = await peelToCommit(path, commit);
  return peeled === commit;
}

/** The object a ref points at in the repository, or undefined when it has no such ref. */
export async function refTarget(path: string, ref: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['--git-dir', path, 'rev-parse', '--verify', '--quiet', `${ref}^{object}`]);
    return stdout.trim();
  } catch (err) {
    if ((err as { code?: unknown }).code === 1) return undefined;
    throw err;
  }
}

/** Deletes branch `name` only while it is still at `commit` (undoing createBranch); false when it moved or is gone. */
export async function deleteBranchAt(path: string, name: string, commit: string): Promise<boolean> {
  try {
    await run('git', ['--git-dir', path, 'update-ref', '-d', `refs/heads/${name}`, commit]);
    return true;
  } catch (err) {
    if ((await refTarget(path, `refs/heads/${name}`)) !== commit) return false;
    throw err;
  }
}

/**
 * Creates branch `name` at `commit` only if no such branch exists: git's compare-and-set on the
 * ref (an all-zero old value means "must not exist"), so two concurrent creations of one
 * branch leave one winner. False when the branch exists already.
 */
export async function createBranch(path: string, name: string, commit: string): Promise<boolean> {
  await run('git', ['check-ref-format', '--branch', name]);
  try {
    await run('git', ['--git-dir', path, 'update-ref', '-m', 'slipway hotfix start', `refs/heads/${name}`, commit, '0'.repeat(40)]);
    return true;
  } catch (err) {
    if ((await refTarget(path, `refs/heads/${name}`)) !== undefined) return false;
    throw err;
  }
}
