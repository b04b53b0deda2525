// The dashboard's project page for a large project: 20 environments (a chain of 5, then 15
// regions fanning out of the last), 500 deployments, 10,000 releases (superseded, live,
// failed, 2 waiting per environment), approvals on the regions' releases, 2 environments
// locked and one pinned, 500 builds, 3,000 audit events — seeded through the store
// (bench/large-project.ts), served by a real server.
//
// 1. Every API call the project page makes, over HTTP on loopback, p50/p99 and bytes, against
//    GET /healthz in the same rounds (interleaved), and the page's whole load as the page does
//    it (the calls in parallel).
// 2. Headless Chromium: from navigation to the environment cards on screen (first meaningful
//    paint) and to a Promote/Rollback button enabled and clickable (interactive), cold (a new
//    browser context: no cache) and warm (a reload), p50 over rounds. The API calls the page
//    made are listed by path, so a rewritten page is measured as it is.
// SQLite, then PostgreSQL (a fresh database on 127.0.0.1:5432; BENCH_POSTGRES=0 skips it).
// Targets (issue 11): API answers under 100 ms, page interactive under 1 s on loopback.
//   node --import tsx bench/dashboard-page.ts   (BENCH_ROUNDS=30 BENCH_BROWSER_ROUNDS=8)
import { loadavg } from 'node:os';
import { DEFAULT_APPROVALS } from '../src/core/gates/index.ts';
import type { RunningServer } from '../src/server/server.ts';
import { ensureDashboardBuilt, launchBrowser } from '../test/support/dashboard.ts';
import { seedLargeProject, seedRealUse, type SeededProject } from './large-project.ts';
import { BENCH_TOKEN, benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const BROWSER_ROUNDS = Number(process.env.BENCH_BROWSER_ROUNDS ?? 8);
const PROJECT = 'shop';
const ENVIRONMENTS = 20;
const RELEASES = 10_000;
const EVENTS = 3_000;
const API_TARGET_MS = 100;
const INTERACTIVE_TARGET_MS = 1000;

async function seed(server: RunningServer, client: Parameters<typeof seedLargeProject>[1]): Promise<SeededProject> {
  const seeded = await seedLargeProject(server, client, PROJECT, {
    environments: ENVIRONMENTS,
    releases: RELEASES,
    commits: 600,
    waitingPerEnv: 2,
    shape: { kind: 'fan-out', chainLength: 5 },
    downstreamPolicy: { approvals: { ...DEFAULT_APPROVALS, count: 2 } },
  });
  await seedRealUse(server, seeded, EVENTS);
  return seeded;
}

interface Call {
  label: string;
  path: string;
}

/** The calls behind the project page (web/src/pages/project-page.tsx), and the release a person opens from it. */
function pageCalls(seeded: SeededProject): { single: Call[]; perEnvironment: Call[]; recent: Call } {
  const p = `/api/v1/projects/${PROJECT}`;
  const waiting = seeded.waiting[seeded.waiting.length - 1];
  return {
    single: [
      { label: 'GET /api/v1/whoami', path: '/api/v1/whoami' },
      { label: 'GET /api/v1/projects (projects page)', path: '/api/v1/projects' },
      { label: 'GET …/shop (status)', path: p },
      { label: 'GET …/pipeline', path: `${p}/pipeline` },
      { label: 'GET …/deployments?limit=30', path: `${p}/deployments?limit=30` },
      { label: 'GET /api/v1/events?project&limit=50', path: `/api/v1/events?project=${PROJECT}&limit=50` },
      { label: 'GET …/domains', path: `${p}/domains` },
      { label: 'GET …/builds?limit=20', path: `${p}/builds?limit=20` },
      { label: 'GET …/deliveries?limit=20', path: `${p}/deliveries?limit=20` },
      { label: 'GET …/agents', path: `${p}/agents` },
      { label: 'GET …/freezes', path: `${p}/freezes` },
      { label: 'GET …/releases/:id (a waiting release)', path: `${p}/releases/${waiting?.id ?? ''}` },
    ],
    perEnvironment: seeded.environments.map((e) => ({ label: 'GET …/environments/:env/releases?limit=20', path: `${p}/environments/${e.name}/releases?limit=20` })),
    recent: { label: 'GET …/releases?perEnvironment=20 (every environment, one call)', path: `${p}/releases?perEnvironment=20` },
  };
}

/** Fetches `path` and reads its whole answer. A kept-alive connection the server closed meanwhile is retried once, on a new one. */
async function timed(base: string, path: string, retried = false): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  let response: Response;
  try {
    response = await fetch(base + path, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
  } catch (err) {
    if (retried || (err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    return timed(base, path, true);
  }
  const body = await response.arrayBuffer();
  const ms = performance.now() - t;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${Buffer.from(body).toString().slice(0, 200)}`);
  return { ms, bytes: body.byteLength };
}

async function measureApi(label: string, base: string, seeded: SeededProject): Promise<(string | number)[][]> {
  const { single, perEnvironment, recent } = pageCalls(seeded);
  // A server from before GET …/releases (one call for every environment) is measured without it.
  const hasRecent = await timed(base, recent.path).then(
    () => true,
    () => false,
  );
  const calls = hasRecent ? [...single, recent, ...perEnvironment] : [...single, ...perEnvironment];
  const oneCallLoad: number[] = [];
  // What the pipeline tab (web/src/pages/project/pipeline-tab.tsx) asks for, besides whoami and the change stream.
  const pipelineTab = single.filter((c) => c.label === 'GET …/shop (status)' || c.label === 'GET …/pipeline' || c.label === 'GET …/freezes');
  const times = new Map<string, number[]>();
  const bytes = new Map<string, number>();
  const record = (key: string, r: { ms: number; bytes: number }, warm: boolean) => {
    if (!warm) return;
    times.set(key, [...(times.get(key) ?? []), r.ms]);
    bytes.set(key, r.bytes);
  };
  const wholeLoad: number[] = [];
  const releasesAll: number[] = [];
  for (let round = 0; round < ROUNDS + 3; round++) {
    const warm = round >= 3;
    // One by one, each after a baseline request, so background load hits them alike.
    for (const call of calls) {
      record('GET /healthz (baseline)', await timed(base, '/healthz'), warm);
      record(call.label, await timed(base, call.path), warm);
    }
    // The 20 release lists as the page asks for them: at once.
    let t = performance.now();
    await Promise.all(perEnvironment.map((c) => timed(base, c.path)));
    if (warm) releasesAll.push(performance.now() - t);
    // The page's whole load: everything at once, then the release lists (they need the status).
    t = performance.now();
    await Promise.all(pipelineTab.map((c) => timed(base, c.path)));
    await Promise.all(perEnvironment.map((c) => timed(base, c.path)));
    if (warm) wholeLoad.push(performance.now() - t);
    // The same with the release lists in one call, which needs nothing first: one wave.
    if (hasRecent) {
      t = performance.now();
      await Promise.all([...pipelineTab, recent].map((c) => timed(base, c.path)));
      if (warm) oneCallLoad.push(performance.now() - t);
    }
  }
  const baseline = percentile(times.get('GET /healthz (baseline)') ?? [], 50);
  const row = (what: string, values: number[], size: number | string): (string | number)[] => {
    const p99 = percentile(values, 99);
    return [label, what, percentile(values, 50), p99, percentile(values, 50) / baseline, size, p99 < API_TARGET_MS ? 'met' : 'NOT met'];
  };
  const rows = [...times].map(([what, values]) => row(what, values, bytes.get(what) ?? 0));
  rows.push(row(`20 × releases?limit=20 at once (the page's ${perEnvironment.length} calls)`, releasesAll, '—'));
  rows.push(row('the pipeline tab\'s load (status, pipeline, freezes at once, then the 20 release lists)', wholeLoad, '—'));
  if (hasRecent) rows.push(row('the same with …/releases (4 calls at once)', oneCallLoad, '—'));
  return rows;
}

/**
 * Run in the page before its own scripts: the stored token (signed in), and `window.__marks`,
 * the time from navigation start when the first environment card appeared (`paint`) and when a
 * Promote or Rollback button was first enabled (`interactive`). Text, not a function: the
 * bench's transpiler would wrap a function's code in helpers the page does not have.
 */
function marksScript(token: string): string {
  return `
    localStorage.setItem('slipway.token', ${JSON.stringify(token)});
    const marks = (window.__marks = {});
    const observer = new MutationObserver(() => {
      if (marks.paint === undefined && document.querySelector('[data-environment]')) marks.paint = performance.now();
      const action = [...document.querySelectorAll('button')].find((b) => /^(Promote|Rollback|Roll back)\\b/.test((b.textContent || '').trim()) && !b.disabled);
      if (marks.interactive === undefined && action) marks.interactive = performance.now();
      if (marks.paint !== undefined && marks.interactive !== undefined) observer.disconnect();
    });
    observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['disabled'] });
  `;
}

/** The marks, and from the page's resource timings: the scripts loaded, the last API answer before it became interactive. */
const MARKS_READ = `(() => {
  const marks = { ...window.__marks };
  const entries = performance.getEntriesByType('resource');
  const end = (list) => list.reduce((max, e) => Math.max(max, e.responseEnd), 0);
  marks.scripts = end(entries.filter((e) => /\\.(js|css)$/.test(new URL(e.name).pathname)));
  marks.data = end(entries.filter((e) => new URL(e.name).pathname.startsWith('/api/') && e.startTime < marks.interactive));
  return marks;
})()`;

interface BrowserTimes {
  /** Scripts and styles loaded. */
  scripts: number;
  /** The last API answer the page had before it became interactive. */
  data: number;
  paint: number;
  interactive: number;
  calls: Map<string, number>;
}

/** Navigation → the environment cards and an enabled Promote/Rollback, in ms from navigation start, via marks the page records itself. */
async function measureBrowser(label: string, base: string): Promise<(string | number)[][]> {
  const browser = await launchBrowser();
  try {
    const cold: BrowserTimes[] = [];
    const warm: BrowserTimes[] = [];
    for (let round = 0; round < BROWSER_ROUNDS + 1; round++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(marksScript(BENCH_TOKEN));
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      const load = async (navigate: () => Promise<unknown>): Promise<BrowserTimes> => {
        const calls = new Map<string, number>();
        const onRequest = (request: { url(): string }) => {
          const url = new URL(request.url());
          if (!url.pathname.startsWith('/api/')) return;
          const key = url.pathname.replace(/\/environments\/[^/]+\//, '/environments/:env/').replace(/\/releases\/rel-[^/]+/, '/releases/:id');
          calls.set(key, (calls.get(key) ?? 0) + 1);
        };
        page.on('request', onRequest);
        await navigate();
        const action = page.locator('button:enabled', { hasText: /^(Promote|Rollback|Roll back)/ }).first();
        await page.locator('[data-environment]').first().waitFor({ state: 'visible' });
        await action.waitFor({ state: 'visible' });
        // Clickable: visible, stable, enabled and receiving the pointer (a trial click checks all four).
        await action.click({ trial: true });
        const marks = await page.evaluate<Record<string, number | undefined>>(MARKS_READ);
        page.off('request', onRequest);
        if (marks.paint === undefined || marks.interactive === undefined) throw new Error(`no marks: ${JSON.stringify(marks)}`);
        return { paint: marks.paint, interactive: marks.interactive, scripts: marks.scripts ?? NaN, data: marks.data ?? NaN, calls };
      };
      const first = await load(() => page.goto(`${base}/#/projects/${PROJECT}`));
      const second = await load(() => page.reload());
      // The first round warms the server and the browser; it is not counted.
      if (round > 0) {
        cold.push(first);
        warm.push(second);
      }
      await context.close();
    }
    const calls = cold[0]?.calls ?? new Map<string, number>();
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    console.error(`${label}: the page made ${total} API calls: ${[...calls].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    const row = (what: string, values: number[], target: number | undefined): (string | number)[] => {
      const p50 = percentile(values, 50);
      return [label, what, p50, percentile(values, 90), Math.min(...values), target === undefined ? '—' : p50 < target ? 'met' : 'NOT met'];
    };
    return [
      row('cold: scripts and styles loaded', cold.map((t) => t.scripts), undefined),
      row(`cold: the last of the ${total} API answers`, cold.map((t) => t.data), undefined),
      row('cold: first meaningful paint (environment cards)', cold.map((t) => t.paint), undefined),
      row('cold: interactive (Promote/Rollback enabled)', cold.map((t) => t.interactive), INTERACTIVE_TARGET_MS),
      row('warm (reload): the last API answer', warm.map((t) => t.data), undefined),
      row('warm (reload): first meaningful paint', warm.map((t) => t.paint), undefined),
      row('warm (reload): interactive', warm.map((t) => t.interactive), INTERACTIVE_TARGET_MS),
    ];
  } finally {
    await browser.close();
  }
}

async function measure(label: string, databaseUrl?: string): Promise<{ api: (string | number)[][]; browser: (string | number)[][] }> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    const t0 = performance.now();
    const seeded = await seed(server, client);
    console.error(`${label}: seeded ${ENVIRONMENTS} environments, ${RELEASES.toLocaleString('en-US')} releases, ${seeded.deployments.length} deployments in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const base = `http://127.0.0.1:${server.port}`;
    const api = await measureApi(label, base, seeded);
    const browser = BROWSER_ROUNDS > 0 ? await measureBrowser(label, base) : [];
    return { api, browser };
  } finally {
    await dispose();
  }
}

await ensureDashboardBuilt();
const loadBefore = loadavg();
const results = [await measure('sqlite')];
if (process.env.BENCH_POSTGRES !== '0') results.push(await withPostgresDatabase((url) => measure('postgres', url)));
const loadAfter = loadavg();
console.log(`\n## Dashboard project page: ${ENVIRONMENTS} environments, 500 deployments, ${RELEASES.toLocaleString('en-US')} releases\n`);
console.log(`API: ${ROUNDS} rounds, ms; bytes of one answer; target p99 < ${API_TARGET_MS} ms.\n`);
console.log(table(['store', 'call', 'p50', 'p99', 'p50 / baseline p50', 'bytes', 'target'], results.flatMap((r) => r.api)));
if (BROWSER_ROUNDS > 0) {
  console.log(`\nHeadless Chromium, 1280×900: ms from navigation start, ${BROWSER_ROUNDS} rounds; target interactive p50 < ${INTERACTIVE_TARGET_MS} ms.\n`);
  console.log(table(['store', 'what', 'p50', 'p90', 'min', 'target'], results.flatMap((r) => r.browser)));
}
const fmt = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ');
console.log(`\nLoad average: ${fmt(loadBefore)} before, ${fmt(loadAfter)} after (${process.env.BENCH_POSTGRES === '0' ? 'SQLite only' : 'SQLite and PostgreSQL'}).`);
