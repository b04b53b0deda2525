import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { configPath } from './config.ts';

/**
 * Secrets of the deployer tokens `slipway git-remote` created, so that the next run on this
 * machine reuses one instead of minting another: the server keeps only a hash, so a token's
 * secret can be read back nowhere else. Kept beside the config file, mode 0600, by server URL.
 */
const StoredGitPushToken = z.object({ id: z.string().min(1), name: z.string().min(1), secret: z.string().min(1) });
export type StoredGitPushToken = z.infer<typeof StoredGitPushToken>;
const StoredGitPushTokens = z.record(z.string(), StoredGitPushToken);

type Env = Readonly<Record<string, string | undefined>>;

export function gitPushTokensPath(env: Env): string {
  return join(dirname(configPath(env)), 'git-push-tokens.json');
}

/** The saved tokens; a missing or unreadable file counts as none (a new token is made then). */
export async function readGitPushTokens(env: Env): Promise<Record<string, StoredGitPushToken>> {
  let text: string;
  try {
    text = await readFile(gitPushTokensPath(env), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  const parsed = StoredGitPushTokens.safeParse(json);
  return parsed.success ? parsed.data : {};
}

/** Saves the token for `serverUrl`, atomically (temp file and rename), readable by the owner only. */
export async function saveGitPushToken(env: Env, serverUrl: string, token: StoredGitPushToken): Promise<string> {
  const path = gitPushTokensPath(env);
  const all = { ...(await readGitPushTokens(env)), [serverUrl]: token };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}
