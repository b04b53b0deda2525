import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CreatedNotifyTarget, NotifyDeliveryList, NotifyTargetList } from '../src/protocol/notifications.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { eventually } from './support/eventually.ts';
import { startNotifyReceiver, type NotifyReceiver } from './support/notify-receiver.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/** `slipway notify add | list | remove | deliveries`: the real bin/slipway against a real server and a real receiver. */


const [sqlite] = backends;

describe('notifications from the CLI', () => {
  let t: TestServer;
  let receiver: NotifyReceiver;
  before(async () => {
    t = await startTestServer(sqlite ?? backends[0]!);
    receiver = await startNotifyReceiver();
    await t.client.createProject('shop');
  });
  after(async () => {
    await receiver.close();
    await t.dispose();
  });

  test('a private URL without --allow-private exits 2 with URL_FORBIDDEN; bad events and formats exit 2', async () => {
    const refused = await slipway(t, ['notify', 'add', '--project', 'shop', '--url', receiver.url()]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /URL_FORBIDDEN/);
    assert.match(refused.stderr, /--allow-private/);
    const events = await slipway(t, ['notify', 'add', '--project', 'shop', '--url', 'https://hooks.example.com/x', '--events', 'live,deployed']);
    assert.equal(events.code, 2);
    assert.match(events.stderr, /unknown event "deployed"/);
    const format = await slipway(t, ['notify', 'add', '--project', 'shop', '--url', 'https://hooks.example.com/x', '--format', 'xml']);
    assert.equal(format.code, 2);
    const none = await slipway(t, ['notify', 'list', '--project', 'shop', '--json']);
    assert.deepEqual((JSON.parse(none.stdout) as NotifyTargetList).targets, []);
  });

  test('add prints the secret once; list, deliveries and remove', async () => {
    const added = await slipway(t, ['notify', 'add', '--project', 'shop', '--url', receiver.url(), '--allow-private', '--events', 'live,failed', '--format', 'slack']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Added notification target ntf-\S+: slack to http:\/\/127\.0\.0\.1:\d+\/hook on live,failed\./);
    assert.match(added.stdout, /Signing secret \(shown once/);
    const id = /target (ntf-\S+):/.exec(added.stdout)?.[1] ?? '';
    const listed = await slipway(t, ['notify', '--project', 'shop']);
    assert.match(listed.stdout, new RegExp(`${id}\\s+slack\\s+http://127.0.0.1:\\d+/hook \\(private allowed\\)\\s+live,failed`));
    assert.doesNotMatch(listed.stdout, /Signing secret/);

    const deployment = await deployFiles(t.client, 'shop', { 'index.html': 'hi' });
    await t.client.promote('shop', 'production', { deployment: deployment.id });
    await eventually('the delivery', async () => {
      const { deliveries } = JSON.parse((await slipway(t, ['notify', 'deliveries', '--project', 'shop', '--json'])).stdout) as NotifyDeliveryList;
      return deliveries.find((d) => d.state === 'delivered');
    });
    const table = await slipway(t, ['notify', 'deliveries', '--project', 'shop', '--target', id]);
    assert.match(table.stdout, new RegExp(`ndl-\\S+\\s+${id}\\s+release.live\\s+delivered\\s+1\\s+200`));
    assert.equal(receiver.received.length, 1);

    const removed = await slipway(t, ['notify', 'remove', id, '--project', 'shop']);
    assert.equal(removed.code, 0, removed.stderr);
    const again = await slipway(t, ['notify', 'remove', id, '--project', 'shop']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /NOTIFY_TARGET_NOT_FOUND/);
    const json = await slipway(t, ['notify', 'add', '--project', 'shop', '--url', receiver.url('/two'), '--allow-private', '--json']);
    const created = JSON.parse(json.stdout) as CreatedNotifyTarget;
    assert.deepEqual(created.events, ['release.live', 'release.failed', 'release.waiting', 'release.rolled_back']);
    assert.equal(created.format, 'json');

    const tested = await slipway(t, ['notify', 'test', created.id, '--project', 'shop']);
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /Delivered test notification ndl-\S+ to ntf-\S+: answered 200\./);
    const test = receiver.received.find((r) => r.path === '/two');
    assert.equal(test?.headers['x-slipway-event'], 'notify.test');
    assert.equal((JSON.parse(test?.body.toString('utf8') ?? '{}') as { type?: string }).type, 'notify.test');
    receiver.script('/two', { status: 500, body: 'no' });
    const refused = await slipway(t, ['notify', 'test', created.id, '--project', 'shop']);
    assert.equal(refused.code, 7);
    assert.match(refused.stdout, /was not accepted: answered 500\./);
    assert.match(refused.stdout, /It is tried again at /);
    const unknown = await slipway(t, ['notify', 'test', 'ntf-nope', '--project', 'shop']);
    assert.equal(unknown.code, 3);
  });
});
