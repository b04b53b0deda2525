// Slipway's post-receive hook. git runs it after a push has updated the refs, with one
// `<old> <new> <ref>` line per updated ref on stdin; whatever it prints reaches the pushing
// client as `remote:` lines. It tells the server what moved, then follows each queued build
// and prints its log, like Heroku. Plain JavaScript: node runs it without the package's loaders.
//
// The refs are already updated when this runs, so nothing here may fail the push: every
// problem becomes a warning and the exit code is always 0.
//
// Environment (set by the server for this one push; never the user's token):
//   SLIPWAY_HOOK_URL            loopback listener of the server that spawned git
//   SLIPWAY_PUSH_TOKEN          proves which push this is; dies with the push
//   SLIPWAY_PROJECT             project name, for the hints printed
//   SLIPWAY_PUSH_WAIT_SECONDS   how long to follow builds before printing how to follow them
/* global fetch, AbortSignal */
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 300;
/** Polls to wait for following environments to move after a build succeeded. */
const SETTLE_POLLS = 10;
/** Lines per logs page (LOG_PAGE in hook-routes.ts). */
const PAGE = 500;
const ZERO = /^0+$/;
const ARROW = '----->';
/** The reason the server gives an environment that has not moved yet, but may (NOT_MOVED_YET in hook-routes.ts). */
const NOT_YET = 'not moved yet';
const INDENT = '       ';

const hookUrl = process.env.SLIPWAY_HOOK_URL ?? '';
const token = process.env.SLIPWAY_PUSH_TOKEN ?? '';
const project = process.env.SLIPWAY_PROJECT ?? '';
const waitSeconds = Number(process.env.SLIPWAY_PUSH_WAIT_SECONDS ?? '600');
const deadline = Date.now() + (Number.isFinite(waitSeconds) && waitSeconds >= 0 ? waitSeconds : 600) * 1000;

// A client that hangs up closes our stdout; there is no one left to tell.
process.stdout.on('error', () => process.exit(0));

function say(line) {
  process.stdout.write(`${line}\n`);
}

function shortRef(ref) {
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  if (ref.startsWith('refs/tags/')) return `tag ${ref.slice('refs/tags/'.length)}`;
  return ref;
}

async function readUpdates() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const updates = [];
  for (const line of input.split('\n')) {
    const [before, after, ref] = line.trim().split(' ');
    // Promotions (proc-receive.mjs reported on them already); git lists them here as if created.
    if (ref === 'refs/environments' || ref?.startsWith('refs/environments/')) continue;
    if (before && after && ref) updates.push({ ref, before, after });
  }
  return updates;
}

async function call(method, path, body) {
  const response = await fetch(new URL(path, hookUrl), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`the server answered ${response.status} with something that is not JSON (${err.message})`);
  }
  if (!response.ok) throw new Error(json?.error?.message ?? `the server answered ${response.status}`);
  return json;
}

/** The refs this push moved to the build's commit (the build's own ref may be an earlier push's). */
function labelOf(build) {
  const refs = (build.refs ?? []).map(shortRef);
  return refs.length > 0 ? refs.join(', ') : shortRef(build.ref);
}

function followHint(build) {
  return `slipway logs ${build.id} --follow --project ${project}`;
}

/** The build's outcome, then one line per environment it reached or did not move (with the server's reason). */
function printOutcome(build, environments) {
  if (build.state === 'succeeded') {
    say(`${ARROW} Deployed: ${build.deploymentUrl ?? '(no deployment URL)'}`);
  } else if (build.state === 'failed') {
    say(`${ARROW} Build failed: ${build.error ?? 'see the log above'}`);
  } else if (build.state === 'canceled') {
    say(`${ARROW} Build canceled`);
  }
  for (const env of environments?.live ?? []) say(`${INDENT}${env.name}: ${env.url}`);
  for (const env of environments?.pending ?? []) say(`${INDENT}${env.name}: not moved: ${env.reason}`);
}

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Prints one build's log until it finishes. States: polling (every POLL_MS, or at once while
 * full pages of lines keep coming) → finished (outcome printed) | out of time (hint printed) |
 * told to stop (client gone or server stopping: silent). Returns false when the caller should stop following further builds.
 */
async function follow(first, label) {
  if (FINISHED.has(first.state)) {
    say(`${ARROW} ${first.commit.slice(0, 7)} (${label}) was built before`);
    printOutcome(first, first.environments);
    return true;
  }
  say(`${ARROW} Building ${first.commit.slice(0, 7)} (${label})…`);
  let after = 0;
  for (;;) {
    let page;
    try {
      page = await call('GET', `/internal/git/builds/${encodeURIComponent(first.id)}/logs?after=${after}`);
    } catch (err) {
      // The push is recorded and the build queued; only the live view is lost.
      say(`${ARROW} Lost contact with Slipway (${err instanceof Error ? err.message : String(err)}); follow the build with:`);
      say(`${INDENT}${followHint(first)}`);
      return false;
    }
    if (page.stop === 'shutdown') {
      say(`${ARROW} Slipway is shutting down; the build stays queued. Follow it with:`);
      say(`${INDENT}${followHint(first)}`);
    }
    if (page.stop) return false;
    for (const line of page.lines) {
      say(`${INDENT}${line.text}`);
      after = line.seq;
    }
    // The server reads the state before the lines, so a finished state with a short page means
    // every line has been printed.
    if (FINISHED.has(page.build.state) && page.lines.length < PAGE) {
      // Following environments move a moment after the build is marked succeeded.
      // (Those held by a lock, a pin or a failed build have a reason and are not waited for.)
      for (let i = 0; i < SETTLE_POLLS && (page.environments?.pending ?? []).some((e) => e.reason === NOT_YET); i++) {
        await sleep(POLL_MS);
        const next = await call('GET', `/internal/git/builds/${encodeURIComponent(first.id)}/logs?after=${after}`).catch((err) => {
          // The build's outcome is known; only the environments' view is cut short.
          say(`${ARROW} warning: could not see where the deployment went live (${err instanceof Error ? err.message : String(err)})`);
          return undefined;
        });
        if (next === undefined) break;
        page = next;
      }
      printOutcome(page.build, page.environments);
      return true;
    }
    if (Date.now() >= deadline) {
      say(`${ARROW} Still ${page.build.state}; follow it with:`);
      say(`${INDENT}${followHint(first)}`);
      return false;
    }
    // A full page means more lines are waiting; an empty or short one means wait for more.
    if (page.lines.length < PAGE) await sleep(POLL_MS);
  }
}

async function main() {
  const updates = await readUpdates();
  if (updates.length === 0) return;
  if (hookUrl === '' || token === '') {
    say(`${ARROW} warning: this repository was pushed to outside Slipway's git server; nothing will be built`);
    return;
  }
  let result;
  try {
    result = await call('POST', '/internal/git/pushes', { updates });
  } catch (err) {
    say(`${ARROW} warning: git stored the push, but Slipway did not record it, so nothing will be built:`);
    say(`${INDENT}${err instanceof Error ? err.message : String(err)}`);
    say(`${INDENT}Push a new commit (git commit --allow-empty) to build.`);
    return;
  }
  for (const env of result.retired) say(`${ARROW} Retired preview ${env}`);
  for (const update of result.stale ?? []) say(`${ARROW} ${shortRef(update.ref)}: not moved: ${update.reason}`);
  if (result.builds.length === 0) {
    if (updates.some((u) => !ZERO.test(u.after)) && result.retired.length === 0 && (result.stale ?? []).length === 0) say(`${ARROW} Nothing new to build`);
    await warn();
    return;
  }
  let following = true;
  for (const build of result.builds) {
    if (following) {
      following = await follow(build, labelOf(build));
    } else {
      say(`${ARROW} Queued ${build.commit.slice(0, 7)} (${labelOf(build)}): ${followHint(build)}`);
    }
  }
  await warn();
}

/**
 * Last, what the project runs that its default branch lacks (a hotfix live in production): said
 * on every push until the default branch contains it.
 */
async function warn() {
  try {
    const { warnings } = await call('GET', '/internal/git/warnings');
    for (const warning of warnings ?? []) say(`${ARROW} WARNING: ${warning}`);
  } catch (err) {
    say(`${ARROW} warning: could not check what the default branch lacks (${err instanceof Error ? err.message : String(err)})`);
  }
}

try {
  await main();
} catch (err) {
  say(`${ARROW} warning: the push was received, but reporting on it failed: ${err instanceof Error ? err.message : String(err)}`);
}
process.exit(0);
