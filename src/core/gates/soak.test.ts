import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOW, runRow, summary, type GateRow } from './gate-fixtures.ts';
import { soakGate } from './soak.ts';

const TEN_MINUTES = 10 * 60_000;
const soaking = { from: 'staging', soakMs: TEN_MINUTES };
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const live = (since: number) => ({ upstream: { name: 'staging', lineage: 'live' as const, liveAt: ago(since), endedAt: null } });
const wasLive = (since: number, until: number) => ({ upstream: { name: 'staging', lineage: 'was_live' as const, liveAt: ago(since), endedAt: ago(until) } });

const rows: GateRow[] = [
  { name: 'no soak: passes', policy: { from: 'staging' }, facts: live(0), expect: 'pass' },
  { name: 'soak without from: nothing to soak in', policy: { soakMs: TEN_MINUTES }, facts: live(0), expect: 'pass' },
  { name: 'live upstream long enough passes', policy: soaking, facts: live(TEN_MINUTES), expect: 'pass' },
  { name: 'a hotfix (expedited) does not soak', policy: soaking, candidate: { expedited: true }, facts: live(0), expect: 'pass' },
  { name: 'a hotfix replaced upstream early still passes', policy: soaking, candidate: { expedited: true }, facts: wasLive(30 * 60_000, 29 * 60_000), expect: 'pass' },
  {
    name: 'live upstream for 4m of 10m waits 6m, looked at again at that moment',
    policy: soaking,
    facts: live(4 * 60_000),
    expect: 'wait SOAKING',
    message: 'soaking in staging: 6m of 10m left (until 12:06 UTC)',
    recheckAt: new Date(NOW.getTime() + 6 * 60_000).toISOString(),
  },
  { name: 'replaced upstream after soaking long enough passes', policy: soaking, facts: wasLive(30 * 60_000, 5 * 60_000), expect: 'pass' },
  {
    name: 'replaced upstream before it soaked can never pass: fails',
    policy: soaking,
    facts: wasLive(30 * 60_000, 27 * 60_000),
    expect: 'fail SOAK_INCOMPLETE',
    message: '3f2a1c9 was live in staging only 3m of the 10m soak',
  },
  { name: 'an admin forcing passes', policy: soaking, candidate: { forced: true, trigger: 'user' }, facts: live(0), expect: 'pass' },
  { name: 'a person waits like automation', policy: soaking, candidate: { trigger: 'user' }, facts: live(60_000), expect: 'wait SOAKING' },
  { name: 'never live upstream: lineage holds it, not soak', policy: soaking, facts: { upstream: { name: 'staging', lineage: 'never' } }, expect: 'pass' },
  { name: 'rolled back upstream: lineage fails it, not soak', policy: soaking, facts: { upstream: { name: 'staging', lineage: 'rolled_back' } }, expect: 'pass' },
  { name: 'a release from before live times were kept passes', policy: soaking, facts: { upstream: { name: 'staging', lineage: 'live', liveAt: null } }, expect: 'pass' },
];

for (const row of rows) {
  test(`soak: ${row.name}`, () => {
    const check = runRow(soakGate, row);
    assert.equal(summary(check), row.expect);
    if (row.message !== undefined) assert.equal(check.status === 'pass' ? undefined : check.reason.message, row.message);
    if (row.recheckAt !== undefined) assert.equal(check.status === 'wait' ? check.recheckAt : undefined, row.recheckAt);
  });
}
