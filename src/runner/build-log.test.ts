import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppendLogsRequest } from '../protocol/builds.ts';
import { ApiError } from '../protocol/client.ts';
import { BuildLog } from './build-log.ts';
import type { LogTransport } from './build-log.ts';

class FakeTransport implements LogTransport {
  batches: AppendLogsRequest['lines'][] = [];
  failures: Error[] = [];
  async appendBuildLogs(_buildId: string, body: AppendLogsRequest): Promise<{ appended: number }> {
    await sleep(1);
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.batches.push(body.lines);
    return { appended: body.lines.length };
  }
  texts(): string[] {
    return this.batches.flat().map((l) => l.text);
  }
}

describe('BuildLog', () => {
  test('batches lines by time', async () => {
    const transport = new FakeTransport();
    const log = new BuildLog(transport, 'bld-1', 'r1', { flushMs: 30 });
    log.line('stdout', 'a');
    log.line('stderr', 'b');
    log.system('c');
    assert.equal(transport.batches.length, 0);
    await sleep(100);
    assert.deepEqual(transport.batches.length, 1);
    assert.deepEqual(
      transport.batches[0]?.map((l) => [l.stream, l.text]),
      [
        ['stdout', 'a'],
        ['stderr', 'b'],
        ['system', 'c'],
      ],
    );
    await log.close();
  });

  test('sends at once when a batch is full, keeping the order across requests', async () => {
    const transport = new FakeTransport();
    const log = new BuildLog(transport, 'bld-1', 'r1', { flushMs: 10_000, batchLines: 5 });
    for (let i = 0; i < 23; i += 1) log.line('stdout', String(i));
    await log.close();
    assert.deepEqual(transport.texts(), Array.from({ length: 23 }, (_, i) => String(i)));
    assert.ok(transport.batches.length >= 2);
  });

  test('keeps lines over a transient failure and sends them on the next try', async () => {
    const transport = new FakeTransport();
    transport.failures.push(new ApiError('NETWORK_ERROR', 'down', 0));
    const logged: string[] = [];
    const log = new BuildLog(transport, 'bld-1', 'r1', { flushMs: 10, log: (l) => logged.push(l) });
    log.line('stdout', 'first');
    await sleep(50);
    log.line('stdout', 'second');
    await log.close();
    assert.deepEqual(transport.texts(), ['first', 'second']);
    assert.match(logged[0] ?? '', /sending 1 log lines failed: down/);
  });

  test('drops a batch the server refuses (the build is no longer ours)', async () => {
    const transport = new FakeTransport();
    transport.failures.push(new ApiError('BUILD_NOT_RUNNING', 'not running', 409));
    const log = new BuildLog(transport, 'bld-1', 'r1', { flushMs: 10, log: () => undefined });
    log.line('stdout', 'lost');
    await sleep(50);
    log.line('stdout', 'kept');
    await log.close();
    assert.deepEqual(transport.texts(), ['kept']);
  });

  test('truncates a runaway build’s output with one note, but keeps Slipway’s own lines', async () => {
    const transport = new FakeTransport();
    const log = new BuildLog(transport, 'bld-1', 'r1', { maxLines: 3 });
    for (let i = 0; i < 10; i += 1) log.line('stdout', String(i));
    log.system('Build failed');
    await log.close();
    assert.deepEqual(transport.texts(), ['0', '1', '2', 'Log truncated: the build printed more than 3 lines', 'Build failed']);
  });

  test('close sends everything left, then ignores new lines', async () => {
    const transport = new FakeTransport();
    const log = new BuildLog(transport, 'bld-1', 'r1', { flushMs: 10_000 });
    log.line('stdout', 'x');
    await log.close();
    log.line('stdout', 'late');
    await sleep(20);
    assert.deepEqual(transport.texts(), ['x']);
  });
});
