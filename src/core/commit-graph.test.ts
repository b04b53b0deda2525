import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchBetween, isAncestor, type CommitBatch, type CommitLookup } from './commit-graph.ts';

/** A graph from `{ child: [parents…] }`; commits not listed are unknown. */
function graph(parents: Record<string, string[]>): CommitLookup {
  return (sha) => (Object.hasOwn(parents, sha) ? { parents: parents[sha] ?? [] } : undefined);
}

function chain(length: number, prefix = 'c'): Record<string, string[]> {
  const out: Record<string, string[]> = { [`${prefix}0`]: [] };
  for (let i = 1; i < length; i += 1) out[`${prefix}${i}`] = [`${prefix}${i - 1}`];
  return out;
}

//   a ← b ← c ← m      (main; m merges f2 as its second parent)
//        ↖ f1 ← f2 ↗   (a feature branch off b)
//   x has unknown parent "gone"; o is an unrelated root (an orphan branch)
const main = graph({
  a: [],
  b: ['a'],
  c: ['b'],
  f1: ['b'],
  f2: ['f1'],
  m: ['c', 'f2'],
  d: ['m'],
  x: ['gone'],
  y: ['x'],
  o: [],
  p: ['o'],
  // n merges its own first parent's child: n's second parent q descends from n's first parent b2
  b2: ['a'],
  q: ['b2'],
  n: ['b2', 'q'],
  // a malformed graph: a cycle
  loop1: ['loop2'],
  loop2: ['loop1'],
});

const isAncestorRows: { name: string; ancestor: string; descendant: string; limit?: number; expect: boolean }[] = [
  { name: 'a commit contains itself', ancestor: 'c', descendant: 'c', expect: true },
  { name: 'a parent', ancestor: 'b', descendant: 'c', expect: true },
  { name: 'a root far down', ancestor: 'a', descendant: 'd', expect: true },
  { name: "a merge's first parent", ancestor: 'c', descendant: 'm', expect: true },
  { name: "through a merge's second parent", ancestor: 'f1', descendant: 'd', expect: true },
  { name: 'a child is not an ancestor', ancestor: 'd', descendant: 'c', expect: false },
  { name: 'a sibling branch is not', ancestor: 'f2', descendant: 'c', expect: false },
  { name: 'an unknown descendant: false, the safe answer', ancestor: 'a', descendant: 'nope', expect: false },
  { name: 'an unknown ancestor: false', ancestor: 'nope', descendant: 'd', expect: false },
  { name: 'an unknown commit in between: a parent it names still counts', ancestor: 'gone', descendant: 'y', expect: true },
  { name: 'beyond the unknown commit nothing is known', ancestor: 'a', descendant: 'y', expect: false },
  { name: 'an unrelated history', ancestor: 'o', descendant: 'd', expect: false },
  { name: 'a cycle ends the walk', ancestor: 'a', descendant: 'loop1', expect: false },
  { name: 'within the limit', ancestor: 'a', descendant: 'd', limit: 5, expect: true },
  { name: 'beyond the limit: false', ancestor: 'a', descendant: 'd', limit: 2, expect: false },
];

for (const row of isAncestorRows) {
  test(`isAncestor: ${row.name}`, () => {
    assert.equal(isAncestor(main, row.ancestor, row.descendant, row.limit), row.expect);
  });
}

test('isAncestor: the limit counts commits looked at, not depth', () => {
  const long = graph(chain(3000));
  assert.equal(isAncestor(long, 'c0', 'c999'), true);
  assert.equal(isAncestor(long, 'c0', 'c1000'), true);
  assert.equal(isAncestor(long, 'c0', 'c1001'), false);
});

const batchRows: { name: string; lookup?: CommitLookup; base: string | null; head: string; limit?: number; expect: CommitBatch }[] = [
  { name: 'the same commit brings nothing', base: 'c', head: 'c', expect: { commits: [], truncated: false } },
  { name: 'a straight line: head included, base excluded', base: 'a', head: 'c', expect: { commits: ['c', 'b'], truncated: false } },
  { name: 'a merge brings its side branch', base: 'c', head: 'd', expect: { commits: ['d', 'm', 'f2', 'f1'], truncated: false } },
  {
    name: 'from before the fork: the first-parent line, then the side branch',
    base: 'b',
    head: 'm',
    expect: { commits: ['m', 'c', 'f2', 'f1'], truncated: false },
  },
  { name: 'base not an ancestor of head: only what head has that base lacks', base: 'c', head: 'f2', expect: { commits: ['f2', 'f1'], truncated: false } },
  { name: 'a move backwards brings nothing', base: 'd', head: 'b', expect: { commits: [], truncated: false } },
  { name: 'no base: the whole history, down to the root', base: null, head: 'c', expect: { commits: ['c', 'b', 'a'], truncated: false } },
  { name: 'no base, history cut short by an unknown commit', base: null, head: 'y', expect: { commits: ['y', 'x', 'gone'], truncated: true } },
  { name: 'an unknown head is all the batch, and cut short', base: 'c', head: 'nope', expect: { commits: ['nope'], truncated: true } },
  { name: 'an unknown base: cannot tell what it already has', base: 'nope', head: 'b', expect: { commits: ['b', 'a'], truncated: true } },
  {
    name: "a root base's partial history never reached is not trusted",
    base: 'y',
    head: 'p',
    expect: { commits: ['p', 'o'], truncated: true },
  },
  { name: "a root outside base's complete history is exact", base: 'c', head: 'p', expect: { commits: ['p', 'o'], truncated: false } },
  {
    name: 'children always before parents, even when the first parent is also a grandparent',
    base: 'a',
    head: 'n',
    expect: { commits: ['n', 'q', 'b2'], truncated: false },
  },
  { name: 'a merge over the fork point, in full', base: 'a', head: 'd', limit: 6, expect: { commits: ['d', 'm', 'c', 'f2', 'f1', 'b'], truncated: false } },
  { name: 'a merge over the fork point, cut by the limit: the nearest commits are kept', base: 'a', head: 'd', limit: 5, expect: { commits: ['d', 'm', 'c', 'b', 'f2'], truncated: true } },
  { name: 'exactly limit commits is complete', lookup: graph(chain(10)), base: 'c4', head: 'c9', limit: 5, expect: { commits: ['c9', 'c8', 'c7', 'c6', 'c5'], truncated: false } },
  { name: 'one more than the limit is cut short', lookup: graph(chain(10)), base: 'c3', head: 'c9', limit: 5, expect: { commits: ['c9', 'c8', 'c7', 'c6', 'c5'], truncated: true } },
  { name: 'a cycle ends the walk', base: null, head: 'loop1', expect: { commits: ['loop1', 'loop2'], truncated: false } },
];

for (const row of batchRows) {
  test(`batchBetween: ${row.name}`, () => {
    const batch = batchBetween(row.lookup ?? main, row.base, row.head, row.limit);
    assert.deepEqual(batch, row.expect);
  });
}

test('batchBetween: a long history beyond the limit still finds a nearby base (the common case)', () => {
  const long = graph(chain(5000));
  assert.deepEqual(batchBetween(long, 'c4990', 'c4999'), { commits: ['c4999', 'c4998', 'c4997', 'c4996', 'c4995', 'c4994', 'c4993', 'c4992', 'c4991'], truncated: false });
  const fromRoot = batchBetween(long, null, 'c4999');
  assert.equal(fromRoot.commits.length, 1000);
  assert.equal(fromRoot.truncated, true);
});

test('batchBetween: a branch forked long ago from a base far ahead is cut short, never silently wrong', () => {
  // main c0…c2999; feature f0…f2 off c10; base is main's tip, 2989 commits past the fork
  const commits: Record<string, string[]> = { ...chain(3000), f0: ['c10'], f1: ['f0'], f2: ['f1'] };
  const batch = batchBetween(graph(commits), 'c2999', 'f2');
  assert.equal(batch.truncated, true);
  assert.deepEqual(batch.commits.slice(0, 3), ['f2', 'f1', 'f0']);
  assert.deepEqual(batchBetween(graph(commits), 'c2999', 'f2', 5000), { commits: ['f2', 'f1', 'f0'], truncated: false });
});
