import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliErrorCode } from './exit-codes.ts';

/** `~/.config/slipway/config.json`, written by `slipway login`. */
export interface StoredConfig {
  url: string;
  token: string;
}

/**
 * `{"url", "token"}`: a URL and a non-empty token; other keys are dropped. Checked by hand, not
 * with zod: every command that talks to a server reads this file, and zod takes a good part of
 * the CLI's start to load.
 */
function asStoredConfig(json: unknown): StoredConfig | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { url, token } = json as Record<string, unknown>;
  if (typeof url !== 'string' || !URL.canParse(url) || typeof token !== 'string' || token.length === 0) return undefined;
  return { url, token };
}

type Env = Readonly<Record<string, string | undefined>>;

export type Connection =
  | { ok: true; url: string; token: string; source: 'env' | 'config' }
  | { ok: false; code: CliErrorCode; message: string };

export type ConfigRead =
  | { ok: true; config: StoredConfig | undefined; path: string }
  | { ok: false; code: CliErrorCode; message: string };

export function configPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'slipway', 'config.json');
}

/** Reads the config file; a missing file is not an error, a malformed one is. */
export async function readConfig(env: Env): Promise<ConfigRead> {
  const path = configPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, config: undefined, path };
    return { ok: false, code: CliErrorCode.CONFIG_INVALID, message: `cannot read ${path}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: CliErrorCode.CONFIG_INVALID, message: `${path} is not JSON (${(err as Error).message}); run slipway login again` };
  }
  const config = asStoredConfig(json);
  if (!config) {
    return { ok: false, code: CliErrorCode.CONFIG_INVALID, message: `${path} needs {"url", "token"}; run slipway login again` };
  }
  return { ok: true, config, path };
}

/**
 * Writes the config with mode 0600 (it holds a bearer token). Written to a temp file and
 * renamed so a crash leaves the old config or the new one, never half of one.
 */
export async function writeConfig(env: Env, config: StoredConfig): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}

/** SLIPWAY_URL and SLIPWAY_TOKEN override the config file, each on its own. */
export async function resolveConnection(env: Env): Promise<Connection> {
  const envUrl = env.SLIPWAY_URL || undefined;
  const envToken = env.SLIPWAY_TOKEN || undefined;
  let stored: StoredConfig | undefined;
  if (!envUrl || !envToken) {
    const read = await readConfig(env);
    if (!read.ok) return read;
    stored = read.config;
  }
  const url = envUrl ?? stored?.url;
  const token = envToken ?? stored?.token;
  if (!url || !token) {
    return {
      ok: false,
      code: CliErrorCode.NOT_LOGGED_IN,
      message: 'not logged in: run `slipway login <url> --token <token>` or set SLIPWAY_URL and SLIPWAY_TOKEN',
    };
  }
  return { ok: true, url, token, source: envUrl && envToken ? 'env' : 'config' };
}
