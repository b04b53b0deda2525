import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BuildFailure } from './build-failure.ts';

const exec = promisify(execFile);

export interface CheckoutOptions {
  /** Repository to fetch from: a URL or a local path. */
  url: string;
  /** Extra HTTP headers for Slipway's own repository (`Authorization: Bearer …`, `Slipway-Lease: …`); kept out of argv. */
  authHeader?: string | readonly string[] | undefined;
  commit: string;
  /** The ref that pointed at the commit, fetched when the server refuses a fetch by commit id. */
  ref: string;
  /** A fresh directory for the repository (bare; never part of the build). */
  gitDir: string;
  /** A fresh directory that receives the commit's tree and nothing else. */
  workTree: string;
  signal?: AbortSignal | undefined;
  /** Progress for the build log. */
  note?: (text: string) => void;
}

export interface CheckedOutCommit {
  author: string;
  /** The commit's subject line. */
  message: string;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const GIT_TIMEOUT_MS = 10 * 60_000;

/**
 * Puts exactly one commit's tree into `workTree`: `git init` a bare repository beside it, fetch
 * that commit alone (depth 1), and check it out with the repository kept outside the tree, so
 * the build sees the commit's files and no `.git`. Servers that refuse to send a commit by id
 * get a fetch of `ref` instead, and the commit must then be in what came back.
 */
export async function checkoutCommit(options: CheckoutOptions): Promise<CheckedOutCommit> {
  if (!COMMIT.test(options.commit)) throw new BuildFailure(`invalid commit id "${options.commit}"`);
  if (!options.ref.startsWith('refs/')) throw new BuildFailure(`invalid ref "${options.ref}"`);
  await mkdir(options.workTree, { recursive: true });
  const git = (args: string[], extraEnv: Record<string, string> = {}) => runGit(['--git-dir', options.gitDir, ...args], extraEnv, options.signal);
  const headers = options.authHeader === undefined ? [] : typeof options.authHeader === 'string' ? [options.authHeader] : options.authHeader;
  const auth: Record<string, string> = headers.length > 0 ? { GIT_CONFIG_COUNT: String(headers.length) } : {};
  headers.forEach((header, i) => {
    auth[`GIT_CONFIG_KEY_${i}`] = 'http.extraHeader';
    auth[`GIT_CONFIG_VALUE_${i}`] = header;
  });

  await runGit(['init', '-q', '--bare', options.gitDir], {}, options.signal);
  try {
    await git(['fetch', '-q', '--no-tags', '--depth', '1', '--', options.url, options.commit], auth);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    options.note?.(`Fetching ${options.commit.slice(0, 12)} by id failed (${gitMessage(err)}); fetching ${options.ref} instead`);
    try {
      await git(['fetch', '-q', '--no-tags', '--', options.url, `+${options.ref}:refs/slipway/source`], auth);
    } catch (refErr) {
      if (options.signal?.aborted) throw refErr;
      throw new BuildFailure(`cannot fetch ${options.ref} from ${redactUrl(options.url)}: ${gitMessage(refErr)}`);
    }
    try {
      await git(['cat-file', '-e', `${options.commit}^{commit}`]);
    } catch (catErr) {
      if (options.signal?.aborted) throw catErr;
      throw new BuildFailure(`commit ${options.commit} is not in ${options.ref} of ${redactUrl(options.url)} anymore`);
    }
  }
  try {
    await runGit(
      ['-c', 'core.hooksPath=/dev/null', '-c', 'advice.detachedHead=false', '--git-dir', options.gitDir, '--work-tree', options.workTree, 'checkout', '-q', '-f', '--detach', options.commit],
      {},
      options.signal,
    );
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new BuildFailure(`cannot check out ${options.commit}: ${gitMessage(err)}`);
  }
  const { stdout } = await git(['log', '-1', '--format=%an%x00%s', options.commit]);
  const [author = '', message = ''] = stdout.replace(/\n$/, '').split('\0');
  return { author, message };
}

/** `https://user:secret@host/x.git` → `https://***@host/x.git`, in a URL or any text quoting one. */
export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

/**
 * git runs with the runner's environment (credentials and SSH keys of the build machine stay
 * usable for external repositories) minus variables that would point it at another repository,
 * never prompting, and only over the usual transports.
 */
function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (key.startsWith('GIT_') && key !== 'GIT_SSH' && key !== 'GIT_SSH_COMMAND') continue;
    env[key] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh', LC_ALL: 'C', ...extra };
}

async function runGit(args: string[], extraEnv: Record<string, string>, signal: AbortSignal | undefined): Promise<{ stdout: string }> {
  const { stdout } = await exec('git', args, {
    env: gitEnv(extraEnv),
    signal,
    timeout: GIT_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    encoding: 'utf8',
  });
  return { stdout };
}

/** The last lines git wrote to stderr, or the error's own message. */
function gitMessage(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim()) {
    return redactUrl(stderr.trim().split('\n').slice(-3).join(' ').replace(/^fatal: /, ''));
  }
  return redactUrl(err instanceof Error ? err.message : String(err));
}
