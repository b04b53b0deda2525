import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combine, evaluate, GATES } from './evaluate.ts';
import { aCandidate, aPolicy, NOW, someFacts } from './gate-fixtures.ts';
import { GATE_KINDS, type Candidate, type EnvironmentPolicy, type GateCheck, type GateVerdict } from './types.ts';

interface Row {
  name: string;
  candidate?: Partial<Candidate>;
  policy?: Partial<EnvironmentPolicy>;
  facts?: Parameters<typeof someFacts>[0];
  /** `pass`, `fail CODE`, or `wait CODE,CODE…` in gate order. */
  expect: string;
  recheckAt?: string;
}

const until = '2026-03-01T14:00:00Z';
const locked = { environment: { lockedBy: 'alice', lockedAt: '2026-03-01T09:00:00Z', lockedReason: 'freeze', lockedUntil: until } };
const pinned = { environment: { pinnedBy: 'carol' } };
const gated: Partial<EnvironmentPolicy> = { from: 'staging', checks: ['ci/test'] };
const green = { checks: { 'ci/test': { state: 'success', url: null } } } as const;
const red = { checks: { 'ci/test': { state: 'failure', url: 'https://ci.example/1' } } } as const;
const liveUpstream = { upstream: { name: 'staging', lineage: 'live' } } as const;
const busy: Row['facts'] = {
  environment: { ...locked.environment, ...pinned.environment },
  requires: [{ project: 'infra', environment: 'production', satisfied: false, needs: 'infra dpl-9 (staging v4)' }],
  queueAhead: { number: 12 },
};
const bigBatch = { count: 20, truncated: false };

const rows: Row[] = [
  { name: 'the default policy passes a plain candidate', expect: 'pass' },
  { name: 'everything satisfied passes', policy: gated, facts: { ...green, ...liveUpstream }, expect: 'pass' },
  {
    name: 'every wait is listed in gate order',
    policy: gated,
    candidate: { batch: bigBatch },
    facts: { ...busy, upstream: { name: 'staging', lineage: 'never' } },
    expect: 'wait ENVIRONMENT_LOCKED,ENVIRONMENT_PINNED,LINEAGE_VIOLATION,CHECKS_PENDING,MAX_COMMITS,REQUIRES_PENDING,QUEUED',
    recheckAt: until,
  },
  { name: 'a fail wins over waits', policy: gated, facts: { ...busy, ...red, ...liveUpstream }, expect: 'fail CHECK_FAILED' },
  {
    name: 'the first fail wins over a later one',
    policy: gated,
    facts: { ...red, upstream: { name: 'staging', lineage: 'rolled_back' } },
    expect: 'fail LINEAGE_VIOLATION',
  },
  {
    name: 'forced passes lock and lineage',
    policy: gated,
    candidate: { forced: true, trigger: 'user' },
    facts: { ...locked, ...green, upstream: { name: 'staging', lineage: 'rolled_back' } },
    expect: 'pass',
  },
  {
    name: 'forced never passes a pending check',
    policy: gated,
    candidate: { forced: true, trigger: 'user' },
    facts: { ...locked, upstream: { name: 'staging', lineage: 'never' } },
    expect: 'wait CHECKS_PENDING',
  },
  { name: 'forced never passes a red check', policy: gated, candidate: { forced: true, trigger: 'user' }, facts: { ...locked, ...red }, expect: 'fail CHECK_FAILED' },
  {
    name: 'automation is held by pin, max_commits and queue',
    candidate: { batch: bigBatch },
    facts: { ...pinned, queueAhead: { number: 3 } },
    expect: 'wait ENVIRONMENT_PINNED,MAX_COMMITS,QUEUED',
  },
  { name: 'a user passes pin, max_commits and queue', candidate: { trigger: 'user', batch: bigBatch }, facts: { ...pinned, queueAhead: { number: 3 } }, expect: 'pass' },
  {
    name: 'a lock that expired passes',
    facts: { environment: { ...locked.environment, lockedUntil: '2026-03-01T11:00:00Z' } },
    expect: 'pass',
  },
  { name: 'parallel mode fails on a check already red', policy: { ...gated, mode: 'parallel' }, facts: { ...red, ...liveUpstream }, expect: 'fail CHECK_FAILED' },
  { name: 'gate mode with no commit fails', policy: gated, candidate: { commit: null }, facts: liveUpstream, expect: 'fail CHECKS_UNAVAILABLE' },
  { name: 'a wait with no time to look again has no recheckAt', facts: pinned, expect: 'wait ENVIRONMENT_PINNED' },
  {
    name: 'a config release is held by a lock alone of all that holds a promotion',
    policy: gated,
    candidate: { kind: 'config', trigger: 'automation', batch: bigBatch },
    facts: { ...busy, ...red, upstream: { name: 'staging', lineage: 'rolled_back' } },
    expect: 'wait ENVIRONMENT_LOCKED',
    recheckAt: until,
  },
  {
    name: 'a config release is held by a freeze',
    candidate: { kind: 'config' },
    facts: { freezes: [{ id: 'frz-1', from: '2026-03-01T00:00:00Z', until, reason: 'holidays', createdBy: 'ops' }] },
    expect: 'wait FROZEN',
    recheckAt: new Date(until).toISOString(),
  },
  { name: 'a config release passes approvals and windows', policy: { windows: ['Sat 00:00-01:00 UTC'], approvals: { count: 2, roles: ['approver'], authors: null } }, candidate: { kind: 'config' }, expect: 'pass' },
];

function summarize(verdict: GateVerdict): string {
  if (verdict.outcome === 'pass') return 'pass';
  if (verdict.outcome === 'fail') return `fail ${verdict.reason.code}`;
  return `wait ${verdict.reasons.map((reason) => reason.code).join(',')}`;
}

for (const row of rows) {
  test(`evaluate: ${row.name}`, () => {
    const verdict = evaluate(aCandidate(row.candidate), aPolicy(row.policy), someFacts(row.facts), NOW);
    assert.equal(summarize(verdict), row.expect);
    if (verdict.outcome === 'wait') assert.equal(verdict.recheckAt, row.recheckAt);
    if (verdict.outcome === 'wait') assert.equal('recheckAt' in verdict, row.recheckAt !== undefined);
  });
}

test('evaluate: every gate kind is asked, once, in the order of GATE_KINDS', () => {
  assert.deepEqual(
    GATES.map(([kind]) => kind),
    [...GATE_KINDS],
  );
});

const wait = (code: string, recheckAt?: string): GateCheck => ({
  status: 'wait',
  reason: { gate: 'lock', code, message: code },
  ...(recheckAt === undefined ? {} : { recheckAt }),
});
const fail = (code: string): GateCheck => ({ status: 'fail', reason: { gate: 'checks', code, message: code } });
const pass: GateCheck = { status: 'pass' };

const combineRows: { name: string; checks: GateCheck[]; expect: GateVerdict }[] = [
  { name: 'nothing to check passes', checks: [], expect: { outcome: 'pass' } },
  {
    name: 'recheckAt is the earliest of several waits, by time not text',
    checks: [wait('A', '2026-03-01T15:00:00Z'), wait('B'), wait('C', '2026-03-01T15:30:00+02:00'), pass, wait('D', '2026-03-01T14:00:00.000Z')],
    expect: {
      outcome: 'wait',
      reasons: ['A', 'B', 'C', 'D'].map((code) => ({ gate: 'lock', code, message: code })),
      recheckAt: '2026-03-01T15:30:00+02:00',
    },
  },
  {
    name: 'an unreadable recheck time is ignored',
    checks: [wait('A', 'later'), wait('B', '2026-03-01T15:00:00Z')],
    expect: { outcome: 'wait', reasons: ['A', 'B'].map((code) => ({ gate: 'lock', code, message: code })), recheckAt: '2026-03-01T15:00:00Z' },
  },
  {
    name: 'a fail after waits wins',
    checks: [wait('A', '2026-03-01T15:00:00Z'), fail('X'), fail('Y')],
    expect: { outcome: 'fail', reason: { gate: 'checks', code: 'X', message: 'X' } },
  },
];

for (const row of combineRows) {
  test(`combine: ${row.name}`, () => {
    assert.deepEqual(combine(row.checks), row.expect);
  });
}
