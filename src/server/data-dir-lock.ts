import { readFileSync } from 'node:fs';
import { mkdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCode, SlipwayError } from '../core/errors.ts';

/** The lock's name in the data directory. */
export const LOCK_NAME = 'slipway.lock';

export interface DataDirLock {
  path: string;
  /** Removes the lock if it is still this process's. */
  release(): Promise<void>;
}

/** Locks held by this process: a second server in the same process is refused too. */
const held = new Set<string>();

/**
 * Makes this process the only Slipway server of `dataDir`, before anything in it is read or
 * replayed: journals, temp files and the SQLite file belong to one process.
 *
 * The lock is a symlink `slipway.lock` whose target is `<pid>:<start time>` (creating a
 * symlink is atomic and fails if the name exists, on every local file system, and it needs no
 * data block on a full disk). A lock whose process is gone — or whose pid now belongs to a
 * process started at another time (pids are reused, and in a container the server is often
 * pid 1 after every restart) — is stale and taken over; any other is DATA_DIR_IN_USE.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_NAME);
  const me = `${process.pid}:${startTimeOf(process.pid) ?? '?'}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await symlink(me, path);
      held.add(path);
      return { path, release: () => release(path, me) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readlink(path).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      // Not a symlink (a file someone put there): no Slipway server's lock, so a stale one.
      if (code === 'EINVAL') return '';
      throw err;
    });
    if (owner === undefined) continue; // released meanwhile: try again
    if (isLive(owner, path)) {
      const [pid] = owner.split(':');
      throw new SlipwayError(
        ErrorCode.DATA_DIR_IN_USE,
        `data directory ${dataDir} is in use by another Slipway server (pid ${pid}); stop that server first, or start this one with another --data directory`,
        { dataDir, pid: Number(pid) },
      );
    }
    await takeOver(path, owner);
  }
  throw new SlipwayError(ErrorCode.DATA_DIR_IN_USE, `could not lock data directory ${dataDir}: its lock keeps changing`, { dataDir });
}

async function release(path: string, me: string): Promise<void> {
  if (!held.delete(path)) return;
  const owner = await readlink(path).catch(() => undefined);
  if (owner === me) await unlink(path).catch(() => undefined);
}

/**
 * Moves a stale lock aside. Two starters may both have found it stale; only the one whose
 * rename moved exactly the stale lock goes on. If another starter's fresh lock was moved
 * instead, it is put back (symlink fails if a third took the name) and this start tries again.
 */
async function takeOver(path: string, stale: string): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readlink(aside).catch(() => undefined);
  if (moved !== undefined && moved !== stale) await symlink(moved, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function isLive(owner: string, path: string): boolean {
  const match = /^(\d+):(\d+|\?)$/.exec(owner);
  if (!match) return false;
  const pid = Number(match[1]);
  const started = match[2];
  if (pid === process.pid) {
    // This process: live if a server here holds it (or it is this very start, not yet recorded).
    return held.has(path) && started === (startTimeOf(pid) ?? '?');
  }
  if (!processExists(pid)) return false;
  const now = startTimeOf(pid);
  // Without /proc the start time is unknown: a running process with that pid is taken as the owner.
  return started === '?' || now === undefined || now === started;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined without /proc. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
