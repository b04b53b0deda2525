import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ID, type ServiceSpec } from './wire.ts';

/**
 * The agent's directory (`--dir`):
 *   agent.json              server, agent id, credential (0600)
 *   state.json              the persisted state machine (state.ts)
 *   releases/<deployment>/  one deployment's files
 *   releases/<deployment>.complete   written once every file is verified: the manifest, as JSON
 *   current -> releases/<deployment>  switched by renaming a new symlink over it
 *   config/<release>.json   the config vars of the release that runs (0600), to restart it offline
 *   logs/<release>.log      the service's output; logs/release-phase-<release>.log
 *   agent/<version>.cjs     agent bundles of self-upgrades, agent/upgrade.json
 * The completion marker sits beside the directory, not in it, so no deployment's own file can
 * be mistaken for it.
 */
export interface Layout {
  dir: string;
  agentJson: string;
  stateJson: string;
  releases: string;
  current: string;
  config: string;
  logs: string;
  agentBin: string;
}

export function layoutOf(dir: string): Layout {
  return {
    dir,
    agentJson: join(dir, 'agent.json'),
    stateJson: join(dir, 'state.json'),
    releases: join(dir, 'releases'),
    current: join(dir, 'current'),
    config: join(dir, 'config'),
    logs: join(dir, 'logs'),
    agentBin: join(dir, 'agent'),
  };
}

export async function ensureLayout(layout: Layout): Promise<void> {
  await mkdir(layout.dir, { recursive: true });
  for (const dir of [layout.releases, layout.logs, layout.agentBin]) await mkdir(dir, { recursive: true });
  await mkdir(layout.config, { recursive: true, mode: 0o700 });
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `path` so that a crash at any moment leaves either the old file or the new one, never
 * a part: a temp file beside it, fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** JSON of a file, undefined when there is none; a file that is not JSON is undefined too (and said). */
export async function readJson(path: string, warn?: (line: string) => void): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    warn?.(`${path} is not JSON (${(err as Error).message}); ignoring it`);
    return undefined;
  }
}

export function releaseDir(layout: Layout, deploymentId: string): string {
  if (!ID.test(deploymentId)) throw new Error(`refusing deployment id ${JSON.stringify(deploymentId)}`);
  return join(layout.releases, deploymentId);
}

export function markerOf(layout: Layout, deploymentId: string): string {
  return `${releaseDir(layout, deploymentId)}.complete`;
}

export interface Marker {
  manifestDigest: string;
  /** The deployment's service spec, so a release on disk runs again without asking the server. */
  service: ServiceSpec | null;
  files: { path: string; sha256: string; size: number; mode: number }[];
}

export async function readMarker(layout: Layout, deploymentId: string): Promise<Marker | undefined> {
  const body = (await readJson(markerOf(layout, deploymentId))) as Marker | undefined;
  if (body === undefined || typeof body.manifestDigest !== 'string' || !Array.isArray(body.files)) return undefined;
  return { ...body, service: body.service ?? null };
}

export async function isComplete(layout: Layout, deploymentId: string): Promise<boolean> {
  return (await readMarker(layout, deploymentId)) !== undefined;
}

/** Deployment ids with a complete release directory, most recently used first (the marker's mtime). */
export async function completeReleases(layout: Layout): Promise<{ id: string; usedAt: number }[]> {
  let names: string[];
  try {
    names = await readdir(layout.releases);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: { id: string; usedAt: number }[] = [];
  for (const name of names) {
    if (!name.endsWith('.complete')) continue;
    const id = name.slice(0, -'.complete'.length);
    if (!ID.test(id)) continue;
    try {
      found.push({ id, usedAt: (await stat(join(layout.releases, name))).mtimeMs });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return found.sort((a, b) => b.usedAt - a.usedAt);
}

/** Directories under releases/ (complete or not). */
export async function releaseDirs(layout: Layout): Promise<string[]> {
  const entries = await readdir(layout.releases, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isDirectory() && ID.test(e.name)).map((e) => e.name);
}

/** The deployment `current` points to, or null (no link, or a link this agent did not make). */
export async function readCurrent(layout: Layout): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(layout.current);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return null;
    throw err;
  }
  const match = /^releases\/([^/]+)$/.exec(target);
  return match && ID.test(match[1] as string) ? (match[1] as string) : null;
}

/**
 * Points `current` at releases/<deployment> atomically: a new symlink is made beside it and
 * renamed over it (rename(2) replaces the old link in one step), so `current` is never missing
 * and never half-written, whenever the process dies.
 */
export async function switchCurrent(layout: Layout, deploymentId: string): Promise<void> {
  releaseDir(layout, deploymentId);
  const temp = `${layout.current}.tmp-${randomBytes(6).toString('hex')}`;
  await symlink(`releases/${deploymentId}`, temp);
  try {
    await rename(temp, layout.current);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  fsyncDir(layout.dir);
}

/** Removes what a crash may leave beside `current` and the state file: temp links and temp files. */
export async function removeTempFiles(layout: Layout): Promise<void> {
  for (const name of await readdir(layout.dir)) {
    if (/^(current|state\.json|agent\.json)\.tmp-[0-9a-f]+$/.test(name)) await rm(join(layout.dir, name), { force: true });
  }
}
