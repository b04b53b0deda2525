import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalEffect, approvalsGate } from './approvals.ts';
import { runRow, summary, type GateRow } from './gate-fixtures.ts';
import type { ApprovalFacts, ApprovalPolicy, BatchAuthor, GivenApproval } from './types.ts';

const dev1: BatchAuthor = { email: 'dev1@example.com', name: 'Dev One', userId: 'usr-dev1', userName: 'dev1' };
const dev1Noreply: BatchAuthor = { email: 'dev1@users.noreply.github.com', name: 'Dev One', userId: 'usr-dev1', userName: 'dev1' };
const dev2: BatchAuthor = { email: 'dev2@example.com', name: 'Dev Two', userId: 'usr-dev2', userName: 'dev2' };
const stranger: BatchAuthor = { email: 'carol@elsewhere.example', name: 'Carol', userId: null, userName: null };

const by = (userId: string, role: GivenApproval['role'] = 'approver', forEmail: string | null = null): GivenApproval => ({
  userId,
  userName: userId.replace('usr-', ''),
  role,
  forEmail,
});
const facts = (over: Partial<ApprovalFacts>): { approvals: ApprovalFacts } => ({
  approvals: { authors: [dev1, dev2], unknownCommits: 0, given: [], createdById: null, ...over },
});
const count = (n: number, roles: ApprovalPolicy['roles'] = ['approver']): { approvals: ApprovalPolicy } => ({ approvals: { count: n, roles, authors: null } });
const authorsAll: { approvals: ApprovalPolicy } = { approvals: { count: 0, roles: ['approver'], authors: 'all' } };
const both: { approvals: ApprovalPolicy } = { approvals: { count: 1, roles: ['approver'], authors: 'all' } };

const rows: GateRow[] = [
  { name: 'no approvals asked: passes', facts: facts({}), expect: 'pass' },
  { name: 'count 2 with none given waits', policy: count(2), facts: facts({}), expect: 'wait APPROVALS_PENDING' },
  {
    name: 'count 2 with one approver says one more is missing',
    policy: count(2),
    facts: facts({ given: [by('usr-anna')] }),
    expect: 'wait APPROVALS_PENDING',
    message: 'waiting for approval: 1 more approval of 2 (approver or above, not an author or who promoted it)',
  },
  { name: 'count 2 with two different approvers passes', policy: count(2), facts: facts({ given: [by('usr-anna'), by('usr-ben', 'admin')] }), expect: 'pass' },
  { name: 'one person counts once (two rows of one user: own and signing for)', policy: count(2), facts: facts({ given: [by('usr-anna'), by('usr-anna', 'approver', 'x@y')] }), expect: 'wait APPROVALS_PENDING' },
  { name: 'four eyes: an author of a commit in the batch does not count', policy: count(1), facts: facts({ given: [by('usr-dev1', 'admin')] }), expect: 'wait APPROVALS_PENDING' },
  { name: 'four eyes: the person who promoted it does not count', policy: count(1), facts: facts({ given: [by('usr-anna')], createdById: 'usr-anna' }), expect: 'wait APPROVALS_PENDING' },
  { name: 'a role below the lowest listed does not count', policy: count(1), facts: facts({ given: [by('usr-anna', 'deployer')] }), expect: 'wait APPROVALS_PENDING' },
  { name: 'roles [deployer, admin]: the lowest listed counts', policy: count(1, ['admin', 'deployer']), facts: facts({ given: [by('usr-anna', 'deployer')] }), expect: 'pass' },
  { name: 'a runner never counts', policy: count(1, ['viewer']), facts: facts({ given: [by('usr-anna', 'runner')] }), expect: 'wait APPROVALS_PENDING' },
  {
    name: 'authors: all names who still has to approve',
    policy: authorsAll,
    facts: facts({ authors: [dev1, dev2, stranger], given: [by('usr-dev1', 'viewer')] }),
    expect: 'wait APPROVALS_PENDING',
    message: 'waiting for approval: author dev2; author carol@elsewhere.example (no user: someone with approver may sign for it)',
  },
  { name: 'authors: all passes when every author approved, whatever their role', policy: authorsAll, facts: facts({ given: [by('usr-dev1', 'viewer'), by('usr-dev2', 'deployer')] }), expect: 'pass' },
  { name: 'a user with two author emails approves once for both', policy: authorsAll, facts: facts({ authors: [dev1, dev1Noreply], given: [by('usr-dev1', 'viewer')] }), expect: 'pass' },
  {
    name: 'an unmapped author is covered by an approver signing for them',
    policy: authorsAll,
    facts: facts({ authors: [dev1, stranger], given: [by('usr-dev1', 'viewer'), by('usr-anna', 'approver', stranger.email)] }),
    expect: 'pass',
  },
  {
    name: 'signing for an unmapped author needs the role',
    policy: authorsAll,
    facts: facts({ authors: [stranger], given: [by('usr-dev1', 'deployer', stranger.email)] }),
    expect: 'wait APPROVALS_PENDING',
  },
  { name: 'authors whose commits Slipway does not know hold it', policy: authorsAll, facts: facts({ authors: [], unknownCommits: 2 }), expect: 'wait APPROVALS_PENDING' },
  { name: 'unknown commits do not hold count alone', policy: count(1), facts: facts({ authors: [], unknownCommits: 2, given: [by('usr-anna')] }), expect: 'pass' },
  { name: 'a batch with no commits known to have authors passes authors: all', policy: authorsAll, facts: facts({ authors: [] }), expect: 'pass' },
  {
    name: 'both: authors approved, but an author cannot be the count too',
    policy: both,
    facts: facts({ given: [by('usr-dev1', 'admin'), by('usr-dev2', 'approver')] }),
    expect: 'wait APPROVALS_PENDING',
    message: 'waiting for approval: 1 more approval of 1 (approver or above, not an author or who promoted it)',
  },
  { name: 'both: authors and one other approver pass', policy: both, facts: facts({ given: [by('usr-dev1'), by('usr-dev2'), by('usr-anna')] }), expect: 'pass' },
  { name: 'an admin forcing passes', policy: both, candidate: { forced: true, trigger: 'user' }, facts: facts({}), expect: 'pass' },
  { name: 'a person promoting waits like automation', policy: count(1), candidate: { trigger: 'user' }, facts: facts({}), expect: 'wait APPROVALS_PENDING' },
];

for (const row of rows) {
  test(`approvals: ${row.name}`, () => {
    const check = runRow(approvalsGate, row);
    assert.equal(summary(check), row.expect);
    if (row.message !== undefined) assert.equal(check.status === 'pass' ? undefined : check.reason.message, row.message);
    assert.equal(check.status === 'wait' ? check.recheckAt : undefined, undefined, 'an approval wakes the pipeline: no timer');
  });
}

test('approvals: the wait names who is missing in its details', () => {
  const check = runRow(approvalsGate, { name: 'details', policy: both, facts: facts({ authors: [dev1, stranger], given: [by('usr-anna')] }), expect: 'pass' });
  assert.equal(check.status, 'wait');
  if (check.status !== 'wait') return;
  assert.deepEqual(check.reason.details, {
    required: 1,
    role: 'approver',
    approvedBy: ['anna'],
    missingCount: 0,
    missingAuthors: [{ email: dev1.email, name: 'Dev One', user: 'dev1' }],
    unmapped: [{ email: stranger.email, name: 'Carol' }],
    unknownCommits: 0,
  });
});

const effectRows: { name: string; policy: ApprovalPolicy; facts?: Partial<ApprovalFacts>; approver: [string, GivenApproval['role'], string | null]; expect: string }[] = [
  { name: 'an approver counts', policy: count(1).approvals, approver: ['usr-anna', 'approver', null], expect: 'counts' },
  { name: 'an author is refused for count alone (four eyes)', policy: count(1).approvals, approver: ['usr-dev1', 'admin', null], expect: 'APPROVAL_NOT_ALLOWED: your approval would satisfy nothing: you authored a commit of it, so your approval does not count (four eyes)' },
  { name: 'who promoted it is refused for count alone', policy: count(1).approvals, facts: { createdById: 'usr-anna' }, approver: ['usr-anna', 'admin', null], expect: 'APPROVAL_NOT_ALLOWED: your approval would satisfy nothing: you promoted it, so your approval does not count (four eyes)' },
  { name: 'a deployer is refused for count', policy: count(1).approvals, approver: ['usr-zed', 'deployer', null], expect: 'APPROVAL_NOT_ALLOWED: your approval would satisfy nothing: approvals count from the approver role (or above)' },
  { name: 'an author under both is recorded for their authorship, not the count', policy: both.approvals, approver: ['usr-dev1', 'admin', null], expect: 'covers dev1@example.com' },
  { name: 'a viewer author approves for themselves', policy: authorsAll.approvals, approver: ['usr-dev2', 'viewer', null], expect: 'covers dev2@example.com' },
  { name: 'a non-author under authors: all only is refused', policy: authorsAll.approvals, approver: ['usr-anna', 'admin', null], expect: 'APPROVAL_NOT_ALLOWED: your approval would satisfy nothing: only the authors of its commits approve it, and you authored none' },
  { name: 'nothing asked: refused', policy: { count: 0, roles: ['approver'], authors: null }, approver: ['usr-anna', 'admin', null], expect: 'APPROVAL_NOT_ALLOWED: this environment needs no approvals' },
  { name: 'signing for an unmapped author', policy: authorsAll.approvals, facts: { authors: [dev1, stranger] }, approver: ['usr-anna', 'approver', stranger.email], expect: 'covers carol@elsewhere.example' },
  { name: 'signing for an email not in the batch', policy: authorsAll.approvals, approver: ['usr-anna', 'approver', 'nobody@example.com'], expect: 'AUTHOR_NOT_IN_BATCH: nobody@example.com authored no commit of this release' },
  { name: 'signing for a mapped author is refused', policy: authorsAll.approvals, approver: ['usr-anna', 'approver', dev2.email], expect: 'APPROVAL_NOT_ALLOWED: dev2@example.com belongs to dev2, who approves for themselves' },
  { name: 'signing for needs the role', policy: authorsAll.approvals, facts: { authors: [stranger] }, approver: ['usr-zed', 'deployer', stranger.email], expect: 'APPROVAL_NOT_ALLOWED: signing for an author needs the approver role (or above)' },
  { name: 'signing for needs authors: all', policy: count(1).approvals, facts: { authors: [stranger] }, approver: ['usr-anna', 'approver', stranger.email], expect: 'APPROVAL_NOT_ALLOWED: signing for an author needs authors: all' },
];

for (const row of effectRows) {
  test(`approvalEffect: ${row.name}`, () => {
    const [userId, role, forEmail] = row.approver;
    const effect = approvalEffect(row.policy, facts(row.facts ?? {}).approvals, { userId, role, forEmail });
    const got = effect.ok ? [effect.counts ? 'counts' : '', effect.covers.length > 0 ? `covers ${effect.covers.join(',')}` : ''].filter(Boolean).join(' ') : `${effect.code}: ${effect.message}`;
    assert.equal(got, row.expect);
  });
}
