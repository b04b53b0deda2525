import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isSlipwayError } from '../core/errors.ts';
import { GIT_LOG_FORMAT, MAX_REPORTED_COMMITS, parseGitLog, type CommitInfo } from '../core/git-log.ts';
import { parseRepoUrl, redactUrl, resolveRepoHost, type LookupAll } from '../core/repo-url.ts';
import { BuildFailure } from './build-failure.ts';

const exec = promisify(execFile);

export interface CheckoutOptions {
  /** Repository to fetch from: a URL, or a local path with `allowLocalRepos`. */
  url: string;
  /**
   * The URL is Slipway's own repository of the project, on the server this runner works for:
   * fetched as configured. Any other URL is someone's input and is checked (core/repo-url.ts).
   */
  own?: boolean | undefined;
  /** `--allow-local-repos`: local paths, `file://` and loopback or private hosts may be fetched. */
  allowLocalRepos?: boolean | undefined;
  /**
   * Extra HTTP headers (`Authorization: …`, a runner's `Slipway-Lease: …`): passed in git's
   * environment, never in argv or the URL.
   */
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
  /**
   * The commit and its ancestors as far as the fetch reached, newest first, at most
   * MAX_REPORTED_COMMITS; empty when git could not say (the build goes on without it).
   */
  history: CommitInfo[];
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const GIT_TIMEOUT_MS = 10 * 60_000;

/**
 * Fetched one deeper than the history reported: every reported commit then has its parents in
 * the repository, so none of them looks like a root. (The shallow boundary is left out anyway.)
 */
const HISTORY_DEPTH = MAX_REPORTED_COMMITS + 1;

/**
 * Puts exactly one commit's tree into `workTree`: `git init` a bare repository beside it, fetch
 * that commit with its recent history (depth HISTORY_DEPTH), and check it out with the
 * repository kept outside the tree, so the build sees the commit's files and no `.git`.
 * Servers that refuse to send a commit by id get a fetch of `ref` instead, and the commit must
 * then be in what came back.
 */
export async function checkoutCommit(options: CheckoutOptions): Promise<CheckedOutCommit> {
  if (!COMMIT.test(options.commit)) throw new BuildFailure(`invalid commit id "${options.commit}"`);
  if (!options.ref.startsWith('refs/')) throw new BuildFailure(`invalid ref "${options.ref}"`);
  const { url, config } = await fetchPlan(options, lookupAll);
  const shown = redactUrl(url);
  await mkdir(options.workTree, { recursive: true });
  const git = (args: string[], extraEnv: Record<string, string> = {}) => runGit(['--git-dir', options.gitDir, ...args], extraEnv, options.signal);
  const auth = configEnv(config);

  await runGit(['init', '-q', '--bare', options.gitDir], {}, options.signal);
  try {
    await git(['fetch', '-q', '--no-tags', '--depth', String(HISTORY_DEPTH), '--', url, options.commit], auth);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    options.note?.(`Fetching ${options.commit.slice(0, 12)} by id failed (${gitMessage(err)}); fetching ${options.ref} instead`);
    try {
      await git(['fetch', '-q', '--no-tags', '--', url, `+${options.ref}:refs/slipway/source`], auth);
    } catch (refErr) {
      if (options.signal?.aborted) throw refErr;
      throw new BuildFailure(`cannot fetch ${options.ref} from ${shown}: ${gitMessage(refErr)}`);
    }
    try {
      await git(['cat-file', '-e', `${options.commit}^{commit}`]);
    } catch (catErr) {
      if (options.signal?.aborted) throw catErr;
      throw new BuildFailure(`commit ${options.commit} is not in ${options.ref} of ${shown} anymore`);
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
  return { author, message, history: await readHistory(options, git) };
}

/**
 * The built commit's recent history for the commit graph. Commits at the shallow boundary are
 * left out: git shows them without parents, which would record them as roots forever. Replace
 * refs are not fetched, and `--no-replace-objects` keeps any from counting.
 */
async function readHistory(options: CheckoutOptions, git: (args: string[]) => Promise<{ stdout: string }>): Promise<CommitInfo[]> {
  try {
    const { stdout } = await git(['--no-replace-objects', 'log', '-z', `--format=${GIT_LOG_FORMAT}`, `--max-count=${MAX_REPORTED_COMMITS}`, options.commit, '--']);
    const shallow = new Set(
      (await readFile(join(options.gitDir, 'shallow'), 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return '';
        throw err;
      }))
        .split('\n')
        .filter((line) => line !== ''),
    );
    return parseGitLog(stdout, MAX_REPORTED_COMMITS).filter((commit) => !shallow.has(commit.sha));
  } catch (err) {
    if (options.signal?.aborted) throw err;
    options.note?.(`Reading the history of ${options.commit.slice(0, 12)} failed (${gitMessage(err)}); building without it`);
    return [];
  }
}

const lookupAll: LookupAll = (hostname) => lookup(hostname, { all: true, verbatim: true });

export interface FetchPlan {
  /** What git fetches: the checked URL, without credentials. */
  url: string;
  /** git configuration for the fetch, passed as GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n. */
  config: Array<[string, string]>;
}

/**
 * Decides how a repository is fetched. Someone's URL is checked now, at fetch time, whatever was
 * checked when it was saved: its scheme, then every address its host resolves to, and the fetch
 * is pinned to those addresses (`http.curloptResolve`), so a DNS answer that changes between the
 * check and git's own lookup reaches nothing new. git may speak only http(s) (and file with
 * `allowLocalRepos`), follows no redirect, and gets credentials as a header in its environment.
 */
export async function fetchPlan(options: Pick<CheckoutOptions, 'url' | 'own' | 'allowLocalRepos' | 'authHeader'>, resolve: LookupAll): Promise<FetchPlan> {
  const config: Array<[string, string]> = [
    ['protocol.allow', 'never'],
    ['protocol.http.allow', 'always'],
    ['protocol.https.allow', 'always'],
    ['http.followRedirects', 'false'],
  ];
  let url = options.url;
  if (!options.own) {
    const policy = { allowLocal: options.allowLocalRepos === true };
    try {
      const parsed = parseRepoUrl(options.url, policy);
      url = parsed.url;
      if (parsed.kind === 'local') {
        config.push(['protocol.file.allow', 'always']);
      } else if (!parsed.literal) {
        let addresses: string[];
        try {
          addresses = await resolveRepoHost(parsed, policy, resolve);
        } catch (err) {
          if (isSlipwayError(err)) throw err;
          throw new BuildFailure(`cannot resolve ${parsed.hostname}: ${err instanceof Error ? err.message : String(err)}`);
        }
        const pinned = addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(',');
        config.push(['http.curloptResolve', `${parsed.hostname}:${parsed.port}:${pinned}`]);
      }
    } catch (err) {
      if (isSlipwayError(err)) throw new BuildFailure(`${err.code}: ${err.message}`);
      throw err;
    }
  }
  const headers = options.authHeader === undefined ? [] : typeof options.authHeader === 'string' ? [options.authHeader] : options.authHeader;
  for (const header of headers) config.push(['http.extraHeader', header]);
  return { url, config };
}

function configEnv(config: Array<[string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * git runs with the runner's environment (the build machine's git configuration and proxy
 * settings stay in effect; a proxy resolves names itself, so it bypasses the address pinning)
 * minus variables that would point it at another repository or override the allowed protocols
 * (`GIT_ALLOW_PROTOCOL`), never prompting.
 */
function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (key.startsWith('GIT_') && key !== 'GIT_SSH' && key !== 'GIT_SSH_COMMAND') continue;
    env[key] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...extra };
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
