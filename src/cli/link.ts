import { lstat, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isValidName } from '../core/names.ts';
import { CliErrorCode } from './exit-codes.ts';

/**
 * `.slipway.json`, written by `slipway link`: the project a directory deploys to, so
 * `--project` can be left out there. It names a project and nothing else — never a server or
 * a token — so a link file committed to a repository cannot send anyone's token elsewhere.
 */
export const LINK_FILE = '.slipway.json';

export interface LinkFile {
  project: string;
}

/** `{"project": "<name>"}` and nothing else; checked by hand so the CLI starts without zod. */
function asLinkFile(json: unknown): LinkFile | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { project, ...rest } = json as Record<string, unknown>;
  if (typeof project !== 'string' || !isValidName(project) || Object.keys(rest).length > 0) return undefined;
  return { project };
}

/** Bigger than any link file; a larger one (or /dev/zero behind a symlink) is not read. */
const MAX_BYTES = 64 * 1024;

export type LinkLookup =
  | { ok: true; link: { project: string; path: string } | undefined }
  | { ok: false; code: CliErrorCode; message: string; path: string };

/**
 * The link in effect for `cwd`: the nearest `.slipway.json` from `cwd` up to the root of the
 * git work tree holding it (outside a work tree, only `cwd` itself). A malformed file is an
 * error, not a reason to look further up.
 */
export async function findLink(cwd: string): Promise<LinkLookup> {
  for (const dir of await searchedDirs(cwd)) {
    const path = join(dir, LINK_FILE);
    const read = await readLink(path);
    if (!read.ok || read.link !== undefined) return read;
  }
  return { ok: true, link: undefined };
}

/** Reads one link file; a missing file is `link: undefined`. */
export async function readLink(path: string): Promise<LinkLookup> {
  const invalid = (why: string): LinkLookup => ({
    ok: false,
    code: CliErrorCode.CONFIG_INVALID,
    message: `${path} ${why}; fix it, or run \`slipway link --project <name>\` (or \`slipway link --unlink\`)`,
    path,
  });
  let text: string;
  try {
    // Not followed: a repository could make its link a symlink to a secret (`/proc/self/environ`,
    // a token file), and nothing of such a file may end up in an error message or a CI log.
    const info = await lstat(path);
    if (!info.isFile()) return invalid('is not a regular file');
    if (info.size > MAX_BYTES) return invalid(`is larger than ${MAX_BYTES} bytes`);
    text = await readSmall(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: true, link: undefined };
    return invalid(`cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text; a link file's content is never echoed.
    return invalid('is not JSON');
  }
  const parsed = asLinkFile(json);
  if (!parsed) return invalid('must be {"project": "<name>"}');
  return { ok: true, link: { project: parsed.project, path } };
}

/** Writes `dir/.slipway.json` through a temp file and a rename: a crash leaves the old link or the new one. */
export async function writeLink(dir: string, link: LinkFile): Promise<string> {
  const path = join(dir, LINK_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(link, null, 2)}\n`, { mode: 0o644 });
  await rename(temp, path);
  return path;
}

export async function removeLink(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** `cwd` and its parents up to the git work tree's root; just `cwd` outside a work tree. */
async function searchedDirs(cwd: string): Promise<string[]> {
  const dirs: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    dirs.push(dir);
    if (await exists(join(dir, '.git'))) return dirs;
    if (dirname(dir) === dir) return [cwd];
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    // Missing or unreadable: either way there is no work tree root here to stop at.
    return false;
  }
}

/** Reads at most MAX_BYTES + 1 bytes, whatever the file claims its size is. */
async function readSmall(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
