import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffMs, initialState, nextWork, parseState, pruneIds, recoverState, type AgentState, type Placed, type RunningProcess } from '../src/agent/machine.ts';
import type { Assignment } from '../src/agent/wire.ts';

/** The agent's state machine decisions, pure: recovery after kill -9, what to do next, what to prune, how long to wait. */

const service = { start: 'node server.mjs', health: '/healthz' };
const placed = (n: number): Placed => ({ releaseId: `rel-${n}`, releaseNumber: n, deploymentId: `dpl-${n}`, service, port: 8080 });
const proc = (n: number): RunningProcess => ({ pid: 1000 + n, startTime: '42', releaseId: `rel-${n}`, deploymentId: `dpl-${n}`, port: 8080, stopTimeoutMs: 1000 });
const state = (over: Partial<AgentState>): AgentState => ({ ...initialState(), ...over });
const assignment = (over: Partial<Assignment>): Assignment => ({
  rev: 1,
  agent: { id: 'agt-1', name: 'host' },
  project: 'shop',
  environment: 'production',
  run: null,
  prepare: null,
  releasePhase: null,
  service,
  keep: 5,
  heartbeatMs: 15_000,
  agentVersion: null,
  ...over,
});

describe('recovery after kill -9', () => {
  test('mid-switch, whichever way the link points, current follows the link and only a matching process is adopted', () => {
    const switching = { from: placed(1), to: placed(2) };
    const before = recoverState(state({ step: 'switching', current: placed(1), switching, process: null }), { link: 'dpl-1', processRunning: false, commandRunning: false });
    assert.equal(before.state.current?.releaseId, 'rel-1');
    assert.equal(before.state.step, 'idle');
    assert.match(before.state.error ?? '', /restarted during switching/);

    const afterRename = recoverState(state({ step: 'health-checking', current: placed(2), switching: null, process: proc(2), healthy: true }), { link: 'dpl-2', processRunning: true, commandRunning: false });
    assert.equal(afterRename.state.current?.releaseId, 'rel-2');
    assert.equal(afterRename.adopt?.pid, 1002);
    assert.equal(afterRename.state.healthy, false, 'health was not established: checked again');

    const stale = recoverState(state({ step: 'draining', current: placed(1), switching, process: proc(1) }), { link: 'dpl-2', processRunning: true, commandRunning: false });
    assert.equal(stale.state.current?.releaseId, 'rel-2');
    assert.deepEqual(stale.stop.map((p) => p.pid), [1001], 'the old process runs another release: stopped');
    assert.equal(stale.adopt, null);
  });

  test('idle with its process running: adopted and still healthy; a process that ended is forgotten', () => {
    const idle = recoverState(state({ current: placed(3), process: proc(3), healthy: true }), { link: 'dpl-3', processRunning: true, commandRunning: false });
    assert.equal(idle.adopt?.pid, 1003);
    assert.equal(idle.state.healthy, true);
    assert.equal(idle.state.error, null);
    const gone = recoverState(state({ current: placed(3), process: proc(3), healthy: true }), { link: 'dpl-3', processRunning: false, commandRunning: false });
    assert.equal(gone.state.process, null);
    assert.deepEqual(gone.stop, []);
  });

  test('a release phase cut short is stopped and reported failed, never run again here', () => {
    const command = { pid: 2000, startTime: '7', kind: 'release-phase' as const, releaseId: 'rel-9', what: 'migrate' };
    const r = recoverState(state({ step: 'release-phase', current: placed(1), command }), { link: 'dpl-1', processRunning: false, commandRunning: true });
    assert.deepEqual(r.stop.map((p) => p.pid), [2000]);
    assert.equal(r.state.releasePhase?.releaseId, 'rel-9');
    assert.equal(r.state.releasePhase?.ok, false);
    assert.ok(r.state.releasePhasesRun.includes('rel-9'));
    assert.equal(nextWork(assignment({ releasePhase: { releaseId: 'rel-9', deploymentId: 'dpl-9', command: 'migrate' } }), r.state, new Set(), false).kind, 'start');
  });

  test('no link (a fresh directory, or state.json lost): nothing is current', () => {
    const r = recoverState(initialState(), { link: null, processRunning: false, commandRunning: false });
    assert.equal(r.state.current, null);
    assert.equal(parseState({ format: 2 }), undefined);
    assert.equal(parseState('garbage'), undefined);
    assert.equal(parseState({ format: 1, step: 'switching' })?.step, 'switching');
  });
});

describe('the next work', () => {
  test('release phase before any switch, then the switch, then keeping current running, then preparing', () => {
    const s = state({ current: placed(1), process: proc(1), healthy: true });
    const a = assignment({ run: placed(2), prepare: { deploymentId: 'dpl-3' }, releasePhase: { releaseId: 'rel-2', deploymentId: 'dpl-2', command: 'migrate' } });
    assert.equal(nextWork(a, s, new Set(), true).kind, 'release-phase');
    assert.deepEqual(nextWork(a, { ...s, releasePhasesRun: ['rel-2'] }, new Set(), true), { kind: 'switch', to: placed(2) });
    const same = assignment({ run: placed(1), prepare: { deploymentId: 'dpl-3' } });
    assert.equal(nextWork(same, s, new Set(), false).kind, 'start');
    assert.equal(nextWork(same, { ...s, healthy: false }, new Set(), true).kind, 'health');
    assert.deepEqual(nextWork(same, s, new Set(), true), { kind: 'prepare', deploymentId: 'dpl-3' });
    assert.equal(nextWork(same, s, new Set(['dpl-3']), true).kind, 'none');
  });

  test('a release that failed here is not switched to again; the old one keeps running until the server sends another', () => {
    const s = state({ current: placed(1), process: proc(1), failedRelease: 'rel-2' });
    assert.equal(nextWork(assignment({ run: placed(2) }), s, new Set(), true).kind, 'health');
    assert.equal(nextWork(assignment({ run: placed(2) }), s, new Set(), false).kind, 'start');
    assert.equal(nextWork(assignment({ run: placed(3) }), s, new Set(), true).kind, 'switch');
    const onFailed = state({ current: placed(2), process: proc(2), failedRelease: 'rel-2' });
    assert.equal(nextWork(assignment({ run: placed(2) }), onFailed, new Set(), true).kind, 'none', 'no health loop on a failed release');
  });

  test('offline (no assignment): the current release keeps running', () => {
    assert.equal(nextWork(null, state({ current: placed(1) }), new Set(), false).kind, 'start');
    assert.equal(nextWork(null, state({}), new Set(), false).kind, 'none');
  });
});

describe('pruning and backoff', () => {
  test('keeps the newest N and every protected release', () => {
    const complete = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ id: `dpl-${n}`, usedAt: n }));
    assert.deepEqual(pruneIds(complete, 5, new Set()), ['dpl-2', 'dpl-1']);
    assert.deepEqual(pruneIds(complete, 2, new Set(['dpl-1'])), ['dpl-6', 'dpl-5', 'dpl-4', 'dpl-3', 'dpl-2']);
    assert.deepEqual(pruneIds(complete, 1, new Set(['dpl-1', 'dpl-2'])), ['dpl-7', 'dpl-6', 'dpl-5', 'dpl-4', 'dpl-3']);
  });

  test('backoff grows from 0.5 s to 30 s with jitter in the upper half', () => {
    assert.equal(backoffMs(1, 0), 250);
    assert.equal(backoffMs(1, 1), 500);
    assert.equal(backoffMs(4, 1), 4000);
    assert.equal(backoffMs(50, 1), 30_000);
    assert.equal(backoffMs(50, 0), 15_000);
  });
});
