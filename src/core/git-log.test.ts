import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMIT_TEXT_LIMITS, parseGitLog } from './git-log.ts';
import { toOneLine } from './one-line.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** One record as `git log -z --format=GIT_LOG_FORMAT` prints it. */
const record = (fields: string[]) => `${fields.join('\0')}\0`;

test('records become commits in git order, parents split, time in ISO', () => {
  const text = record([C, `${A} ${B}`, 'Grace Hopper', 'grace@example.com', '1735689600', 'Merge b']) + record([A, '', 'Ada', 'ada@example.com', '1735600000', 'root']);
  assert.deepEqual(parseGitLog(text), [
    { sha: C, parents: [A, B], authorName: 'Grace Hopper', authorEmail: 'grace@example.com', message: 'Merge b', committedAt: '2025-01-01T00:00:00.000Z' },
    { sha: A, parents: [], authorName: 'Ada', authorEmail: 'ada@example.com', message: 'root', committedAt: '2024-12-30T23:06:40.000Z' },
  ]);
});

test('a subject holding a NUL costs its own record only; the next one is found again', () => {
  const text = record([A, '', 'x', 'x@x', '1', 'half\0of it']) + record([B, A, 'y', 'y@y', '2', 'fine']);
  const commits = parseGitLog(text);
  assert.deepEqual(
    commits.map((c) => [c.sha, c.message]),
    [
      [A, 'half'],
      [B, 'fine'],
    ],
  );
});

test('malformed ids, parents and times are skipped; limit and duplicates respected', () => {
  const text =
    record(['not-a-sha', '', 'x', 'x@x', '1', 'bad id']) +
    record([A, 'zz', 'x', 'x@x', '1', 'bad parents']) +
    record([B, '', 'x', 'x@x', 'yesterday', 'bad time']) +
    record([C, '', 'x', 'x@x', '3', 'good']) +
    record([C, '', 'x', 'x@x', '3', 'again']) +
    record([A, '', 'x', 'x@x', '4', 'over the limit']);
  assert.deepEqual(
    parseGitLog(text).map((c) => c.message),
    ['good', 'over the limit'],
  );
  assert.deepEqual(
    parseGitLog(text, 1).map((c) => c.message),
    ['good'],
  );
  assert.deepEqual(parseGitLog(''), []);
});

test('free text is cleaned of controls, bidi overrides and escapes, and capped', () => {
  assert.equal(toOneLine('\u001b[31mred\u001b[0m\tand\u202e evil\u0000 ', 100), '[31mred[0m and evil');
  assert.equal(toOneLine('x'.repeat(5000), COMMIT_TEXT_LIMITS.message).length, 1000);
  // Capped by code points: an emoji is never cut in half.
  assert.equal(toOneLine('😀'.repeat(3), 2), '😀😀');
  const [hostile] = parseGitLog(record([A, '', `Mallory\u0007${'m'.repeat(300)}`, 'evil@x\r\nBcc: a@b', '1', `\u001b]8;;https://evil\u0007link`]));
  assert.ok(hostile);
  assert.equal(hostile.authorName.length, 255);
  assert.equal(hostile.authorEmail, 'evil@x  Bcc: a@b');
  assert.equal(hostile.message, ']8;;https://evillink');
});
