import { chown, lchown, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { runCommand } from './build-command.ts';

/**
 * Every build command runs in a bubblewrap sandbox: its own PID, IPC, UTS and cgroup
 * namespaces (and network namespace with `build.network: false`), a fresh `/proc`, `/dev` and
 * `/tmp`, the system directories read-only, and writable only its checkout, its temp dir and
 * its project's cache. Nothing else of the host exists inside: not the data directory, not
 * other builds, not the runner's environment. When the sandbox's first process ends, the
 * kernel kills every process left in its PID namespace.
 *
 * Two ways in, depending on who runs the runner:
 *   root   – bwrap sets the sandbox up as root (so it can reach build dirs under a data
 *            directory only root may enter), then `setpriv` drops to uid/gid 65534 with no
 *            capabilities, no groups and no_new_privs before the build's shell starts. No user
 *            namespace: mapping uid 65534 inside to root outside would let the build read every
 *            root-only file in the read-only system directories (/etc/shadow, SSH host keys).
 *            The build's dirs are handed to 65534 first and stay removable by root.
 *   others – an unprivileged user namespace: the build runs as the runner's own user, and
 *            sees only what is bound in.
 */

/** The unprivileged user a root runner's builds run as ("nobody" on Debian). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
export const DEFAULT_BWRAP_PATH = '/usr/bin/bwrap';

/** Bound read-only at the same path; a symlink (merged /usr) is recreated as the same symlink. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROBE_TIMEOUT_MS = 15_000;

export interface SystemDir {
  path: string;
  /** Set when `path` is a symlink: its target, recreated inside. */
  symlink?: string;
}

/** What the machine offers a sandbox; found once by `detectSandboxHost`. */
export interface SandboxHost {
  bwrapPath: string;
  /** The runner is root: set up as root, run the build as SANDBOX_UID through setpriv. */
  asRoot: boolean;
  setprivPath: string;
  envPath: string;
  system: SystemDir[];
  /** More read-only directories (where a symlinked /etc/resolv.conf really lives). */
  readOnly: string[];
}

export interface SandboxSpec {
  command: string;
  /** The build's whole environment (see createBuildEnv); nothing else reaches the build. */
  env: Readonly<Record<string, string>>;
  /** The checkout: writable, and the working directory. */
  cwd: string;
  /** Further writable directories (TMPDIR, HOME), bound at the same paths. */
  writable: readonly string[];
  network: boolean;
  /** Hidden even where they lie under a system directory (the data directory). */
  hidden: readonly string[];
}

/** How a runner's builds run, decided once at its start. */
export type SandboxState =
  | { mode: 'sandboxed'; host: SandboxHost }
  /** `--unsafe-builds`: the build command runs as the runner's user, with the runner's view of the machine. */
  | { mode: 'unsafe' }
  /** bubblewrap cannot run here: every build fails at once, saying why. */
  | { mode: 'unavailable'; reason: string };

/** `--bwrap`/option, else `SLIPWAY_BWRAP`, else /usr/bin/bwrap. */
export function resolveBwrapPath(given: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return given ?? (env.SLIPWAY_BWRAP || undefined) ?? DEFAULT_BWRAP_PATH;
}

/**
 * The bwrap arguments that run `spec.command` with `sh -c` in the sandbox. Pure: the order of
 * the mount operations matters (bwrap applies them in order), so it is tested here.
 */
export function createSandboxArgs(host: SandboxHost, spec: SandboxSpec): string[] {
  const args = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (!host.asRoot) args.push('--unshare-user');
  if (!spec.network) args.push('--unshare-net');
  args.push('--hostname', 'slipway-build', '--die-with-parent', '--new-session', '--clearenv');

  const bound: string[] = [];
  for (const dir of host.system) {
    if (dir.symlink !== undefined) args.push('--symlink', dir.symlink, dir.path);
    else {
      args.push('--ro-bind', dir.path, dir.path);
      bound.push(dir.path);
    }
  }
  for (const dir of host.readOnly) {
    args.push('--ro-bind-try', dir, dir);
    bound.push(dir);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp', '--perms', '1777', '--tmpfs', '/dev/shm');
  for (const path of spec.hidden) {
    if (bound.some((dir) => isInside(path, dir))) args.push('--perms', '0700', '--tmpfs', path);
  }

  const writable = [spec.cwd, ...spec.writable];
  // Directories bwrap would create on the way to a bind are root-only; the build must pass through them.
  const ancestors = new Set<string>();
  for (const path of writable) {
    for (let dir = dirname(path); dir !== '/' && dir !== '/tmp'; dir = dirname(dir)) {
      if (!bound.some((b) => isInside(dir, b))) ancestors.add(dir);
    }
  }
  for (const dir of [...ancestors].sort((a, b) => a.length - b.length)) args.push('--perms', '0711', '--dir', dir);
  for (const path of writable) args.push('--bind', path, path);
  args.push('--chdir', spec.cwd);

  if (host.asRoot) {
    // setpriv needs these two to switch users; it drops them and every other capability itself.
    args.push('--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--');
    args.push(
      host.setprivPath,
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_GID}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    );
  } else {
    args.push('--');
  }
  // The environment is set by `env -i` after setpriv: a build's LD_PRELOAD must never reach a
  // process that still has privileges (bwrap itself, setpriv).
  const pairs = Object.entries(spec.env).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name "${name}"`);
    return `${name}=${value}`;
  });
  args.push(host.envPath, '-i', ...pairs, '/bin/sh', '-c', spec.command);
  return args;
}

/** The runner's PATH without the directories the sandbox does not have. */
export function sandboxPath(runnerPath: string | undefined, host: SandboxHost): string {
  const visible = [...host.system.map((d) => d.path), ...host.readOnly];
  const kept = (runnerPath ?? '').split(':').filter((entry) => entry.startsWith('/') && visible.some((dir) => isInside(entry, dir)));
  return kept.length > 0 ? [...new Set(kept)].join(':') : DEFAULT_PATH;
}

/** Which system directories exist here, and where DNS configuration really lives. */
export async function detectSandboxHost(bwrapPath: string): Promise<SandboxHost> {
  const system: SystemDir[] = [];
  for (const path of SYSTEM_DIRS) {
    let info;
    try {
      info = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (info.isSymbolicLink()) system.push({ path, symlink: await readlink(path) });
    else if (info.isDirectory()) system.push({ path });
  }
  const readOnly: string[] = [];
  // systemd-resolved and resolvconf make /etc/resolv.conf a symlink into /run.
  try {
    const resolv = await realpath('/etc/resolv.conf');
    const dir = dirname(resolv);
    if (!system.some((d) => d.symlink === undefined && isInside(dir, d.path))) readOnly.push(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return {
    bwrapPath,
    asRoot: process.getuid?.() === 0,
    setprivPath: '/usr/bin/setpriv',
    envPath: '/usr/bin/env',
    system,
    readOnly,
  };
}

export interface PrepareSandboxOptions {
  bwrapPath: string;
  /** Builds' dirs go here; the probe runs in a dir under it, so a dir the sandbox cannot reach shows now. */
  workDir: string;
  /** Build without a sandbox (`--unsafe-builds`): nothing is probed. */
  unsafe?: boolean;
}

/**
 * Decides how this runner's builds run: probes bubblewrap once by running a sandbox exactly as
 * a build would (binds, user switch, a write to its checkout) with `true`-like work. Never throws.
 */
export async function prepareSandbox(options: PrepareSandboxOptions): Promise<SandboxState> {
  if (options.unsafe) return { mode: 'unsafe' };
  let probeDir: string | undefined;
  try {
    const host = await detectSandboxHost(options.bwrapPath);
    await mkdir(options.workDir, { recursive: true });
    probeDir = await mkdtemp(join(resolve(options.workDir), 'sandbox-probe-'));
    const cwd = join(probeDir, 'src');
    await mkdir(cwd);
    await handOver(host, [cwd]);
    const stderr: string[] = [];
    const result = await runCommand({
      command: 'probe',
      spawn: {
        file: host.bwrapPath,
        args: createSandboxArgs(host, {
          command: 'echo ok > probe && test "$(cat probe)" = ok',
          env: { PATH: DEFAULT_PATH },
          cwd,
          writable: [],
          network: true,
          hidden: [],
        }),
      },
      cwd: '/',
      env: { PATH: DEFAULT_PATH },
      timeoutMs: PROBE_TIMEOUT_MS,
      killGraceMs: 1000,
      onLine: (stream, text) => {
        if (stream === 'stderr' && stderr.length < 5) stderr.push(text);
      },
    });
    if (result.error) {
      const code = (result.error as NodeJS.ErrnoException).code;
      return { mode: 'unavailable', reason: code === 'ENOENT' ? `bubblewrap is not installed at ${host.bwrapPath}` : `cannot run ${host.bwrapPath}: ${result.error.message}` };
    }
    if (result.timedOut) return { mode: 'unavailable', reason: `${host.bwrapPath} did not finish a trial run in ${PROBE_TIMEOUT_MS / 1000}s` };
    if (result.exitCode !== 0) {
      const said = stderr.join(' ').trim();
      return { mode: 'unavailable', reason: `${host.bwrapPath} cannot make a sandbox here${said ? `: ${said}` : ` (exit code ${String(result.exitCode ?? result.signal)})`}` };
    }
    return { mode: 'sandboxed', host };
  } catch (err) {
    return { mode: 'unavailable', reason: `cannot prepare a sandbox: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    if (probeDir !== undefined) await rm(probeDir, { recursive: true, force: true });
  }
}

/**
 * A root runner gives the build's directories to SANDBOX_UID (the build must write them);
 * `trees` are walked whole (the checkout git wrote as root), `dirs` only themselves (a cache
 * whose contents earlier builds made). Symlinks are changed, never followed. Root can still
 * read and remove everything afterwards. A runner that is not root has nothing to do.
 */
export async function handOver(host: SandboxHost, dirs: readonly string[], trees: readonly string[] = []): Promise<void> {
  if (!host.asRoot) return;
  for (const dir of dirs) await chown(dir, SANDBOX_UID, SANDBOX_GID);
  for (const tree of trees) await chownTree(tree);
}

async function chownTree(path: string): Promise<void> {
  await lchown(path, SANDBOX_UID, SANDBOX_GID);
  const info = await lstat(path);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child);
    else await lchown(child, SANDBOX_UID, SANDBOX_GID);
  }
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
