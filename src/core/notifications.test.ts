import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { jsonNotification, parseNotifyEvents, SLACK_MAX_COMMITS, slackEscape, slackNotification, testNotification, type ReleaseNotice } from './notifications.ts';

function notice(overrides: Partial<ReleaseNotice> = {}): ReleaseNotice {
  return {
    event: 'release.live',
    at: '2026-12-01T10:00:00.000Z',
    project: 'shop',
    environment: 'production',
    release: {
      id: 'rel-abc',
      number: 7,
      kind: 'promote',
      state: 'live',
      previousState: 'rolling_out',
      stateReason: null,
      reason: 'live in staging (v12)',
      createdBy: 'slipway',
      trigger: 'automation',
      deploymentId: 'dpl-xyz',
      commit: 'c'.repeat(40),
      branch: 'main',
    },
    batch: {
      commits: [
        { sha: 'a'.repeat(40), message: 'Checkout <b>bold</b> & fast', authorName: 'Ann', authorEmail: 'ann@example.com' },
        { sha: 'b'.repeat(40), message: 'Fix cart', authorName: 'Bob', authorEmail: 'bob@example.com' },
        { sha: 'c'.repeat(40), message: null, authorName: null, authorEmail: null },
      ],
      truncated: false,
    },
    urls: { deployment: 'http://dpl-xyz--shop.localhost:7070/', environment: 'http://shop.localhost:7070/', dashboard: 'http://localhost:7070/#/projects/shop' },
    ...overrides,
  };
}

describe('notification events', () => {
  test('bare states and full names, deduplicated; unknown ones and none at all are refused', () => {
    assert.deepEqual(parseNotifyEvents(['live', 'release.failed', ' live ', 'waiting']), ['release.live', 'release.failed', 'release.waiting']);
    for (const bad of [['deployed'], ['pending'], ['release.nope'], ['build.failed'], [''], [], ['live', '__proto__']]) {
      assert.throws(() => parseNotifyEvents(bad), (err: unknown) => isSlipwayError(err, 'INVALID_REQUEST'), JSON.stringify(bad));
    }
  });
});

describe('notification bodies', () => {
  test('json: the notice with its type and delivery id', () => {
    const body = jsonNotification('ndl-1', notice());
    assert.equal(body.type, 'release.live');
    assert.equal(body.delivery, 'ndl-1');
    assert.equal((body.release as { number: number }).number, 7);
  });

  test('slack: text, and blocks with what happened, a link, the commits with their authors, and escaped text', () => {
    const message = slackNotification(notice());
    assert.match(message.text, /shop production v7 is live/);
    assert.ok(Array.isArray(message.blocks) && message.blocks.length >= 3);
    for (const block of message.blocks) assert.ok(['section', 'context'].includes(block.type as string), JSON.stringify(block));
    const all = JSON.stringify(message.blocks);
    assert.match(all, /<http:\/\/shop\.localhost:7070\/\|shop production v7 is live>/, 'a link to the environment');
    assert.match(all, /<http:\/\/localhost:7070\/#\/projects\/shop\|Slipway>/, 'a link to the dashboard');
    assert.match(all, /dpl-xyz--shop/, 'a link to the deployment');
    assert.match(all, /3 commits/);
    assert.match(all, /`aaaaaaa` Checkout &lt;b&gt;bold&lt;\/b&gt; &amp; fast — Ann/, 'commit subjects are escaped');
    assert.match(all, /Authors: Ann, Bob/);
    assert.doesNotMatch(all, /<b>/);
  });

  test('slack: a failed release says why; a long batch is cut with a count', () => {
    const many = Array.from({ length: SLACK_MAX_COMMITS + 5 }, (_, i) => ({ sha: `${i}`.padStart(40, '0'), message: `change ${i}`, authorName: `dev${i}`, authorEmail: null }));
    const failed = notice({
      event: 'release.failed',
      release: { ...notice().release, state: 'failed', previousState: 'waiting', stateReason: 'required check ci/test failed <@here>' },
      batch: { commits: many, truncated: false },
    });
    const message = slackNotification(failed);
    const all = JSON.stringify(message);
    assert.match(message.text, /:x: shop production v7 failed/);
    assert.match(all, /required check ci\/test failed &lt;@here&gt;/, 'a mention in a reason is escaped, never a ping');
    assert.match(all, /…and 5 more/);
    assert.match(all, /15 commits/);
  });

  test('slackEscape leaves nothing Slack reads as markup', () => {
    assert.equal(slackEscape('<!channel> & <http://evil|click>'), '&lt;!channel&gt; &amp; &lt;http://evil|click&gt;');
  });

  test('a test notification in either format says it is a test', () => {
    const json = testNotification('json', 'ndl-1', 'shop', 'alice', '2026-12-01T10:00:00.000Z', 'http://localhost:7070/#/projects/shop');
    assert.equal(json.type, 'notify.test');
    assert.equal(json.delivery, 'ndl-1');
    const slack = testNotification('slack', 'ndl-1', 'shop', '<!channel>', '2026-12-01T10:00:00.000Z', 'http://localhost:7070/#/projects/shop') as { text: string; blocks: unknown[] };
    assert.match(slack.text, /Test notification from Slipway for shop, sent by &lt;!channel&gt;/);
    assert.equal(slack.blocks.length, 1);
  });
});
