import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The dashboard in a real Chromium: web/dist built when stale, a browser, a page that collects
 * page errors, and signing in with a token. Screenshots go where every dashboard test puts them.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_INDEX = join(ROOT, 'web', 'dist', 'index.html');
/** Held (mkdir is atomic) while one test file builds web/dist, so two files never empty it under each other. */
const BUILD_LOCK = join(ROOT, 'web', '.dist-building');

export const CHROMIUM = process.env.SLIPWAY_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** Without a browser the browser suites are skipped, visibly, rather than failing on a missing binary. */
export const NO_BROWSER: false | string = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set SLIPWAY_TEST_CHROMIUM)`;

/** Where every dashboard test saves its screenshots (kept out of git; CI keeps the folder). */
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'dashboard');

/** `test-output/dashboard/<name>.png`, next to the other dashboard tests' screenshots. */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** web/dist is stale when a dashboard source, or the core and protocol code it bundles, is newer than its index.html. */
async function isDashboardBuilt(): Promise<boolean> {
  const built = await mtime(DIST_INDEX);
  if (built === undefined) return false;
  const under = async (dir: string) => (await readdir(join(ROOT, dir), { recursive: true })).map((name) => join(ROOT, dir, name));
  const sources = [join(ROOT, 'web', 'index.html'), join(ROOT, 'web', 'vite.config.ts'), ...(await under('web/src')), ...(await under('src/protocol')), ...(await under('src/core'))];
  for (const source of sources) {
    if (((await mtime(source)) ?? 0) > built) return false;
  }
  return true;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/** Builds web/dist unless it is newer than every source it is built from. */
export async function ensureDashboardBuilt(): Promise<void> {
  if (await isDashboardBuilt()) return;
  for (;;) {
    try {
      await mkdir(BUILD_LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A build takes seconds; a lock this old was left by a test run that died while building.
      const since = await mtime(BUILD_LOCK);
      if (since !== undefined && Date.now() - since > 180_000) await rm(BUILD_LOCK, { recursive: true, force: true });
      else await sleep(250);
    }
  }
  try {
    if (!(await isDashboardBuilt())) await run('npx', ['vite', 'build', '--config', 'web/vite.config.ts']);
  } finally {
    await rmdir(BUILD_LOCK);
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export interface DashboardPage {
  page: Page;
  /** Page errors and console errors seen so far; a test asserts it stays empty. */
  problems: string[];
}

/** A page of `width` CSS pixels that records what went wrong in it. */
export async function openPage(browser: Browser, width = 1280, height = 900): Promise<DashboardPage> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    // API refusals (401, 409, 423) are expected in tests; Chromium logs each as a failed load.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  return { page, problems };
}

/** Signs in at `url` with `token` and waits for the projects list. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}

/** Signs in at `url` with email and password (a session cookie) and waits for the projects list. */
export async function signInWithPassword(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
}

/** Whether the document is wider than the viewport (the page scrolls sideways). */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

/**
 * Makes the page take its tab for hidden (or shown again): the dashboard's change stream pauses
 * and nothing reloads, so a test can leave the page stale on purpose; shown again, it loads.
 */
export async function setTabHidden(page: Page, hidden: boolean): Promise<void> {
  // A string, not a function: tsx's name helpers do not exist in the page.
  await page.evaluate(`{
    const hidden = ${String(hidden)};
    Object.defineProperty(document, 'hidden', { configurable: true, get() { return hidden; } });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get() { return hidden ? 'hidden' : 'visible'; } });
    document.dispatchEvent(new Event('visibilitychange'));
  }`);
}
