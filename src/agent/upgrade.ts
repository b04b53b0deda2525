import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readJson, writeFileAtomic, type Layout } from './disk.ts';
import type { AgentClient } from './wire.ts';

/**
 * Self-upgrade. The process the host started (systemd's ExecStart) is the launcher and stays the
 * same process throughout:
 *
 *   running (in process) --server wants another version--> fetched (downloaded, sha256 checked,
 *   agent/<version>.js, upgrade.json state 'trial') --> the in-process agent ends, leaving the
 *   service running --> launcher starts `node agent/<version>.js` with the same flags
 *   --first report accepted (the child writes 'confirmed')--> confirmed: the launcher waits for
 *   the child and starts it again at every later start
 *   --no report within the trial (30 s), or the child ended first--> failed: the child is
 *   killed (SIGKILL, so it leaves the service running), upgrade.json says 'failed' and why,
 *   and the launcher runs its own code again, which adopts the service and does not try that
 *   version again.
 *
 * The old file is never removed, so falling back needs nothing from the network.
 */

export interface UpgradeRecord {
  version: string;
  sha256: string;
  path: string;
  state: 'trial' | 'confirmed' | 'failed';
  since: string;
  reason?: string;
}

/** The exit code of an agent that ends so that the launcher starts another version. */
export const EXIT_UPGRADE = 75;
/** Set in the environment of an agent the launcher started: it runs, it does not launch. */
export const LAUNCHED_ENV = 'SLIPWAY_AGENT_LAUNCHED';

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;

export function upgradePath(layout: Layout): string {
  return join(layout.agentBin, 'upgrade.json');
}

export async function readUpgrade(layout: Layout): Promise<UpgradeRecord | undefined> {
  const record = (await readJson(upgradePath(layout))) as UpgradeRecord | undefined;
  if (record === undefined || typeof record.version !== 'string' || typeof record.path !== 'string' || typeof record.sha256 !== 'string') return undefined;
  return record;
}

async function writeUpgrade(layout: Layout, record: UpgradeRecord): Promise<void> {
  await writeFileAtomic(upgradePath(layout), `${JSON.stringify(record, null, 1)}\n`);
}

/** False for a version that failed its trial here (same version and digest): it is not tried again. */
export async function mayTry(layout: Layout, wanted: { version: string; sha256: string }): Promise<boolean> {
  if (!VERSION.test(wanted.version)) return false;
  const record = await readUpgrade(layout);
  return !(record?.state === 'failed' && record.version === wanted.version && record.sha256 === wanted.sha256);
}

/** Downloads the wanted bundle, checks its sha256, writes agent/<version>.js and a 'trial' record. */
export async function fetchUpgrade(layout: Layout, client: AgentClient, wanted: { version: string; sha256: string; url: string }, log: (line: string) => void): Promise<boolean> {
  if (!VERSION.test(wanted.version)) {
    log(`refusing an agent upgrade to ${JSON.stringify(wanted.version)}: not a version`);
    return false;
  }
  const answer = await client.download(wanted.url);
  if (!answer.ok) {
    log(`cannot download agent ${wanted.version} from ${wanted.url}: ${answer.message} (${answer.code})`);
    return false;
  }
  const bytes = Buffer.from(await answer.value.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== wanted.sha256) {
    log(`refusing agent ${wanted.version}: its sha256 is ${digest}, the server said ${wanted.sha256}`);
    await writeUpgrade(layout, { version: wanted.version, sha256: wanted.sha256, path: '', state: 'failed', since: new Date().toISOString(), reason: 'the download does not match its sha256' });
    return false;
  }
  // .cjs: CommonJS whatever package.json lies above the directory.
  const path = join(layout.agentBin, `${wanted.version}.cjs`);
  await writeFileAtomic(path, bytes, 0o755);
  await writeUpgrade(layout, { version: wanted.version, sha256: digest, path, state: 'trial', since: new Date().toISOString() });
  log(`agent ${wanted.version} downloaded and verified; restarting into it`);
  return true;
}

/** Called by a launched agent once the server accepted its first report: the trial is over. */
export async function confirmUpgrade(layout: Layout, version: string): Promise<void> {
  const record = await readUpgrade(layout);
  if (record?.state === 'trial' && record.version === version) await writeUpgrade(layout, { ...record, state: 'confirmed', since: new Date().toISOString() });
}

export type Launched = { kind: 'exit'; code: number } | { kind: 'failed'; reason: string };

/**
 * Runs the upgraded agent as a child with the same flags, signals forwarded. A 'trial' child
 * must confirm within `trialMs`, else it is killed and the answer is 'failed'.
 */
export async function runUpgraded(layout: Layout, record: UpgradeRecord, argv: readonly string[], env: Readonly<Record<string, string | undefined>>, trialMs: number, log: (line: string) => void): Promise<Launched> {
  let bytes: Buffer;
  try {
    bytes = await readFile(record.path);
  } catch (err) {
    return { kind: 'failed', reason: `cannot read ${record.path}: ${(err as Error).message}` };
  }
  if (createHash('sha256').update(bytes).digest('hex') !== record.sha256) return { kind: 'failed', reason: `${record.path} no longer matches its sha256` };
  log(`starting agent ${record.version} (${record.state === 'trial' ? `on trial: it must report within ${Math.round(trialMs / 1000)} s` : 'confirmed'})`);
  const child = spawn(process.execPath, [record.path, ...argv], { env: { ...env, [LAUNCHED_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143))));
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  try {
    if (record.state === 'trial') {
      let ended: number | undefined;
      void exited.then((code) => {
        ended = code;
      });
      const until = Date.now() + trialMs;
      for (;;) {
        if ((await readUpgrade(layout))?.state === 'confirmed') break;
        if (ended !== undefined) return ended === EXIT_UPGRADE ? { kind: 'exit', code: ended } : { kind: 'failed', reason: `it exited with code ${ended} before its first report` };
        if (Date.now() > until) {
          // SIGKILL: a SIGTERM would make it stop the service; the old agent adopts the service instead.
          child.kill('SIGKILL');
          await exited;
          return { kind: 'failed', reason: `it did not report within ${Math.round(trialMs / 1000)} s` };
        }
        await sleep(100);
      }
      log(`agent ${record.version} reported: upgrade confirmed`);
    }
    return { kind: 'exit', code: await exited };
  } finally {
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
  }
}

export async function failUpgrade(layout: Layout, record: UpgradeRecord, reason: string): Promise<void> {
  await writeUpgrade(layout, { ...record, state: 'failed', since: new Date().toISOString(), reason });
}
