import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FsBlobs } from '../src/blobs/fs/fs-blobs.ts';
import { systemClock, type Clock } from '../src/core/clock.ts';
import { defaultManifestLimits } from '../src/core/manifest.ts';
import { enqueueJob } from '../src/server/jobs/enqueue.ts';
import { createJobWorker, type JobHandlers, type JobWorker, type JobWorkerOptions } from '../src/server/jobs/job-queue.ts';
import type { ServiceDeps } from '../src/server/services/deps.ts';
import { wakePipeline } from '../src/server/services/pipeline-wake.ts';
import { Signal } from '../src/server/services/signal.ts';
import { openStore } from '../src/store/open-store.ts';
import type { JobLease, JobRow, NewJob, Store } from '../src/store/store.ts';
import { backends, TEST_SECRET_KEY, type TestBackend } from './support/backends.ts';
import { eventually } from './support/eventually.ts';

// The job queue against real SQLite and PostgreSQL: the store's claims, leases, retries and
// dead jobs first, then the worker that runs handlers on it.

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
/** A time `s` seconds after T0. */
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const job = (fields: Partial<NewJob> = {}): NewJob => ({
  kind: 'notification.send',
  key: null,
  payload: {},
  runAt: at(0),
  maxAttempts: 3,
  createdAt: at(0),
  ...fields,
});

const leaseOf = (row: JobRow): JobLease => ({ id: row.id, lockedBy: row.lockedBy });

async function withStore(backend: TestBackend, fn: (store: Store, url: string) => Promise<void>): Promise<void> {
  const db = await backend.create();
  const store = await openStore(db.url, { secretKey: TEST_SECRET_KEY });
  try {
    await fn(store, db.url);
  } finally {
    await store.close();
    await db.dispose();
  }
}

for (const backend of backends) {
  describe(`the job store on ${backend.name}`, () => {
    let store: Store;
    let db: { url: string; dispose(): Promise<void> };
    let claims = 0;
    /** Claims whatever is due at `s` seconds, under a lease of 10 s. */
    const claim = (s: number, kinds: readonly string[] = ['notification.send']) =>
      store.claimJob({ lockedBy: `test#${++claims}`, kinds, now: at(s), lockedUntil: at(s + 10) });
    /** Claims and completes everything due at `s`, so each test starts from an empty queue. */
    const drain = async (s: number) => {
      for (let next = await claim(s, ['notification.send', 'pipeline.evaluate']); next; next = await claim(s, ['notification.send', 'pipeline.evaluate'])) {
        await store.completeJob(leaseOf(next), at(s));
      }
    };

    before(async () => {
      db = await backend.create();
      store = await openStore(db.url, { secretKey: TEST_SECRET_KEY });
    });
    after(async () => {
      await store.close();
      await db.dispose();
    });

    test('claims take the oldest due job first (run_at, then the order they were queued)', async () => {
      const late = await store.enqueueJob(job({ runAt: at(2), payload: { n: 'late' } }));
      const first = await store.enqueueJob(job({ runAt: at(1), payload: { n: 'first' } }));
      const second = await store.enqueueJob(job({ runAt: at(1), payload: { n: 'second' } }));
      const order: number[] = [];
      for (let next = await claim(3); next; next = await claim(3)) order.push(next.id);
      assert.deepEqual(order, [first.id, second.id, late.id]);
      const claimed = await store.findJob(first.id);
      assert.equal(claimed?.state, 'running');
      assert.equal(claimed.attempts, 1);
      assert.deepEqual(claimed.payload, { n: 'first' });
      assert.equal(claimed.lockedUntil, at(13));
      for (const id of order) assert.equal(await store.completeJob({ id, lockedBy: (await store.findJob(id))?.lockedBy ?? null }, at(4)), true);
      assert.equal((await store.findJob(late.id))?.state, 'done');
      assert.equal((await store.findJob(late.id))?.doneAt, at(4));
    });

    test('a job whose run_at is still ahead is not claimed, nor is a kind the claimer does not name', async () => {
      const later = await store.enqueueJob(job({ runAt: at(100) }));
      const other = await store.enqueueJob(job({ kind: 'pipeline.evaluate', payload: { projectId: 'prj-x', reason: 'test' } }));
      assert.equal(await claim(99), undefined);
      assert.equal(await store.findNextJobTime(['notification.send'], at(99)), at(100));
      assert.equal((await claim(100))?.id, later.id);
      assert.equal((await claim(100, ['pipeline.evaluate']))?.id, other.id);
      await drain(200);
    });

    test('a key dedupes queued jobs: the earlier run_at wins, the first payload stays; while one runs, the next waits', async () => {
      const a = await store.enqueueJob(job({ key: 'k1', runAt: at(10), payload: { n: 1 } }));
      const b = await store.enqueueJob(job({ key: 'k1', runAt: at(5), payload: { n: 2 } }));
      const c = await store.enqueueJob(job({ key: 'k1', runAt: at(20), payload: { n: 3 } }));
      assert.deepEqual([b.id, c.id], [a.id, a.id]);
      assert.equal(c.runAt, at(5));
      assert.deepEqual(c.payload, { n: 1 });
      assert.equal((await store.listJobs({ state: 'queued' }, { limit: 10 })).filter((j) => j.key === 'k1').length, 1);

      const running = await claim(5);
      assert.equal(running?.id, a.id);
      // Queued while the first runs: a new job, which is not claimed while the first holds its lease.
      const next = await store.enqueueJob(job({ key: 'k1', runAt: at(6), payload: { n: 4 } }));
      assert.notEqual(next.id, a.id);
      assert.equal(await claim(7), undefined, 'the key is busy');
      assert.equal(await store.findNextJobTime(['notification.send'], at(7)), at(15), 'looked at again when the lease runs out');
      await store.completeJob(leaseOf(running), at(8));
      assert.equal((await claim(8))?.id, next.id, 'free once the first is done');
      await drain(100);
    });

    test('a lease that runs out makes the job claimable again, and the first claim can neither renew nor complete it', async () => {
      const queued = await store.enqueueJob(job());
      const first = await claim(1);
      assert.equal(first?.id, queued.id);
      assert.equal(await claim(5), undefined, 'its lease (until 11 s) holds');
      assert.equal(await store.renewJobLease(leaseOf(first), at(15), at(5)), true, 'a heartbeat extends it');
      assert.equal(await claim(12), undefined, 'renewed until 15 s');
      const second = await claim(16);
      assert.equal(second?.id, queued.id);
      assert.equal(second.attempts, 2);
      assert.notEqual(second.lockedBy, first.lockedBy);
      assert.match(second.lastError ?? '', /lease of attempt 1 ran out/);
      assert.equal(await store.renewJobLease(leaseOf(first), at(40), at(17)), false);
      assert.equal(await store.completeJob(leaseOf(first), at(17)), false);
      assert.equal(await store.failJob(leaseOf(first), { error: 'late', now: at(17), retryAt: at(18) }), undefined);
      const row = await store.findJob(queued.id);
      assert.deepEqual([row?.state, row?.lockedBy], ['running', second.lockedBy], 'the first claim changed nothing');
      assert.equal(await store.completeJob(leaseOf(second), at(18)), true);
    });

    test('a failed attempt is queued again at its backoff time; after the last one the job is dead with its error', async () => {
      const queued = await store.enqueueJob(job({ key: 'kb', maxAttempts: 2 }));
      const first = await claim(1);
      assert.equal(first?.id, queued.id);
      assert.equal(await store.failJob(leaseOf(first), { error: 'INTERNAL: boom 1', now: at(2), retryAt: at(4) }), 'queued');
      const waiting = await store.findJob(queued.id);
      assert.deepEqual([waiting?.state, waiting?.runAt, waiting?.lastError, waiting?.lockedBy], ['queued', at(4), 'INTERNAL: boom 1', null]);
      assert.equal(await claim(3), undefined, 'it waits out its backoff');
      // A new enqueue of its key joins it, and does not cut the backoff short.
      const joined = await store.enqueueJob(job({ key: 'kb', runAt: at(2) }));
      assert.deepEqual([joined.id, joined.runAt], [queued.id, at(4)]);
      const second = await claim(4);
      assert.equal(second?.id, queued.id);
      assert.equal(second.attempts, 2);
      assert.equal(await store.failJob(leaseOf(second), { error: 'INTERNAL: boom 2', now: at(5), retryAt: at(9) }), 'dead');
      const dead = await store.findJob(queued.id);
      assert.deepEqual([dead?.state, dead?.lastError, dead?.attempts], ['dead', 'INTERNAL: boom 2', 2]);
      assert.equal(await claim(60), undefined, 'a dead job is never claimed');
      assert.ok((await store.listJobs({ state: 'dead' }, { limit: 10 })).some((j) => j.id === queued.id));
      assert.ok((await store.countJobs('dead')) >= 1);
      await drain(200);
    });

    test('a backoff holds even when work of its key is queued meanwhile: the retry takes that job in', async () => {
      const first = await store.enqueueJob(job({ key: 'k2' }));
      const running = await claim(1);
      assert.equal(running?.id, first.id);
      const meanwhile = await store.enqueueJob(job({ key: 'k2', runAt: at(1) }));
      assert.equal(await store.failJob(leaseOf(running), { error: 'boom', now: at(2), retryAt: at(30) }), 'queued');
      assert.equal(await store.findJob(meanwhile.id), undefined, 'absorbed: same key, same work');
      assert.equal(await claim(29), undefined);
      assert.equal((await claim(30))?.id, first.id);
      await drain(200);
    });

    test('a lease that runs out on the last attempt leaves the job dead, not running for ever', async () => {
      const queued = await store.enqueueJob(job({ maxAttempts: 1 }));
      assert.equal((await claim(1))?.id, queued.id);
      assert.equal(await claim(20), undefined);
      const dead = await store.findJob(queued.id);
      assert.equal(dead?.state, 'dead');
      assert.match(dead.lastError ?? '', /lease of its last attempt \(1\) ran out/);
    });

    test('a dead job is retried with all its attempts ahead; a job that is not dead is not', async () => {
      const queued = await store.enqueueJob(job({ key: 'k3', maxAttempts: 1 }));
      const running = await claim(1);
      assert.equal(await store.failJob(leaseOf(running ?? queued), { error: 'boom', now: at(2), retryAt: at(3) }), 'dead');
      const newer = await store.enqueueJob(job({ key: 'k3', runAt: at(50) }));
      const retried = await store.retryDeadJob(queued.id, at(10));
      assert.deepEqual([retried?.state, retried?.attempts, retried?.runAt, retried?.lastError], ['queued', 0, at(10), 'boom']);
      assert.equal(await store.findJob(newer.id), undefined, 'the queued job of its key is taken in');
      assert.equal(await store.retryDeadJob(queued.id, at(11)), undefined, 'queued, not dead');
      assert.equal(await store.retryDeadJob(987_654, at(11)), undefined);
      const again = await claim(10);
      assert.equal(again?.id, queued.id);
      assert.equal(again.attempts, 1);
      await store.completeJob(leaseOf(again), at(11));
      assert.equal(await store.retryDeadJob(queued.id, at(12)), undefined, 'done, not dead');
    });

    test('a recurring job is rescheduled on the same row with its attempts reset', async () => {
      const queued = await store.enqueueJob(job({ key: 'every', maxAttempts: 2 }));
      const first = await claim(1);
      assert.equal(await store.failJob(leaseOf(first ?? queued), { error: 'flaky', now: at(1), retryAt: at(2) }), 'queued');
      const second = await claim(2);
      assert.equal(await store.completeJob(leaseOf(second ?? queued), at(3), at(13)), true);
      const row = await store.findJob(queued.id);
      assert.deepEqual([row?.state, row?.runAt, row?.attempts, row?.lastError], ['queued', at(13), 0, null]);
      await drain(200);
    });

    test('enqueue listeners hear of a job after its transaction commits, never of one rolled back', async () => {
      let heard = 0;
      const unsubscribe = store.onJobsEnqueued(() => heard++);
      try {
        await store.enqueueJob(job({ runAt: at(500) }));
        assert.equal(heard, 1, 'outside a transaction: at once');
        await store.transaction(async (tx) => {
          await tx.enqueueJob(job({ runAt: at(500) }));
          await tx.enqueueJob(job({ runAt: at(500) }));
          assert.equal(heard, 1, 'not before the commit');
        });
        assert.equal(heard, 3);
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.enqueueJob(job({ runAt: at(500) }));
            throw new Error('roll back');
          }),
          /roll back/,
        );
        assert.equal(heard, 3);
      } finally {
        unsubscribe();
      }
      await store.enqueueJob(job({ runAt: at(500) }));
      assert.equal(heard, 3, 'unsubscribed');
      await drain(600);
    });

    test('done jobs are deleted a day after they ended; queued and dead ones stay', async () => {
      const done = await store.enqueueJob(job());
      const claimed = await claim(1);
      await store.completeJob(leaseOf(claimed ?? done), at(2));
      const waiting = await store.enqueueJob(job({ runAt: at(10_000) }));
      assert.equal(await store.deleteDoneJobs(at(1)), 0);
      assert.ok((await store.deleteDoneJobs(at(3))) >= 1);
      assert.equal(await store.findJob(done.id), undefined);
      assert.equal((await store.findJob(waiting.id))?.state, 'queued');
      await drain(20_000);
    });

    test('wakePipeline queues one pipeline.evaluate per project, joining a queued one', async () => {
      const clock: Clock = { now: () => new Date(T0) };
      await store.transaction((tx) => wakePipeline(tx, clock, 'prj-1', 'check ci/test reported'));
      await wakePipeline(store, clock, 'prj-1', 'release live upstream');
      await wakePipeline(store, clock, 'prj-2', 'lock removed');
      const queued = (await store.listJobs({ kind: 'pipeline.evaluate', state: 'queued' }, { limit: 10 })).sort((a, b) => a.id - b.id);
      assert.deepEqual(
        queued.map((j) => [j.key, j.payload]),
        [
          ['pipeline.evaluate:prj-1', { projectId: 'prj-1', reason: 'check ci/test reported' }],
          ['pipeline.evaluate:prj-2', { projectId: 'prj-2', reason: 'lock removed' }],
        ],
      );
      await drain(10);
    });
  });
}

/** A deferred the test settles: a handler that waits for it hangs until then. */
function gate(): { promise: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

async function testDeps(store: Store): Promise<{ deps: ServiceDeps; dispose: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-jobs-'));
  const deps: ServiceDeps = {
    store,
    blobs: new FsBlobs(join(dataDir, 'blobs')),
    clock: systemClock,
    urls: { baseDomain: 'localhost', scheme: 'http', port: 7070 },
    limits: { manifest: defaultManifestLimits, maxBlobBytes: 1024, buildTimeoutSeconds: 60 },
    dataDir,
    buildsQueued: new Signal(),
    agentsChanged: new Signal(),
  };
  return { deps, dispose: () => rm(dataDir, { recursive: true, force: true }) };
}

const silent = pino({ level: 'silent' });

for (const backend of backends) {
  describe(`the job worker on ${backend.name}`, () => {
    /** Workers started in a test, stopped after it whatever happened. */
    let workers: JobWorker[] = [];
    const start = async (options: Omit<JobWorkerOptions, 'log'>) => {
      const worker = createJobWorker({ log: silent, ...options });
      workers.push(worker);
      await worker.start();
      return worker;
    };
    const stopAll = async () => {
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
    };

    test('a handler that throws twice is retried with backoff and then succeeds; the job ends done', async () => {
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        try {
          const attempts: number[] = [];
          const handlers: JobHandlers = {
            'notification.send': async (_deps, _payload, ctx) => {
              attempts.push(ctx.job.attempts);
              if (attempts.length <= 2) throw new Error(`flaky ${attempts.length}`);
            },
          };
          await start({ deps, handlers, backoffMs: (n) => 20 * n, pollMs: 60_000 });
          const queued = await enqueueJob(store, deps.clock, 'notification.send', { to: 'ops' });
          const done = await eventually('the job to end', async () => {
            const row = await store.findJob(queued.id);
            return row?.state === 'done' ? row : undefined;
          }, 10_000);
          assert.deepEqual(attempts, [1, 2, 3]);
          assert.equal(done.attempts, 3);
          assert.equal(done.lastError, 'flaky 2', 'the last failure stays readable');
        } finally {
          await stopAll();
          await dispose();
        }
      });
    });

    test('an enqueue wakes this process’s worker at once, but only after its transaction commits; kinds without a handler wait', async () => {
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        try {
          const ran: unknown[] = [];
          // No polling to speak of: only the wake-up can make it run within the test.
          await start({ deps, handlers: { 'notification.send': async (_d, payload) => void ran.push(payload) }, pollMs: 60_000 });
          await sleep(100);
          let committedAt = 0;
          await store.transaction(async (tx) => {
            await enqueueJob(tx, deps.clock, 'notification.send', { n: 1 });
            await wakePipeline(tx, deps.clock, 'prj-1', 'test');
            // On PostgreSQL the worker could run now if it were woken early; it must not see the job yet.
            if (store.capabilities.concurrentWriters) await sleep(200);
            committedAt = Date.now();
          });
          await eventually('the job to run', async () => (ran.length > 0 ? true : undefined), 5_000);
          assert.ok(Date.now() - committedAt < 5_000);
          assert.deepEqual(ran, [{ n: 1 }]);
          await sleep(100);
          const [evaluation] = await store.listJobs({ kind: 'pipeline.evaluate' }, { limit: 5 });
          assert.equal(evaluation?.state, 'queued', 'no handler here: it waits, unclaimed');
          assert.equal(evaluation.attempts, 0);
        } finally {
          await stopAll();
          await dispose();
        }
      });
    });

    test('a payload the kind cannot run makes the job dead at once, with why', async () => {
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        try {
          let calls = 0;
          await start({ deps, handlers: { 'project.purge': async () => void calls++ }, pollMs: 60_000 });
          const bad = await store.enqueueJob({ kind: 'project.purge', key: null, payload: { project: 42 }, runAt: new Date().toISOString(), maxAttempts: 10, createdAt: new Date().toISOString() });
          const dead = await eventually('the job to die', async () => {
            const row = await store.findJob(bad.id);
            return row?.state === 'dead' ? row : undefined;
          }, 5_000);
          assert.equal(calls, 0);
          assert.equal(dead.attempts, 1);
          assert.match(dead.lastError ?? '', /^INVALID_REQUEST: the payload of this project\.purge job/);
        } finally {
          await stopAll();
          await dispose();
        }
      });
    });

    test('a handler that hangs past its lease is taken over; its late completion does not overwrite the one that holds the job', async () => {
      let released = { a: gate(), b: gate() };
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        try {
          const calls: { worker: string; signal: AbortSignal }[] = [];
          released = { a: gate(), b: gate() };
          const handlersOf = (worker: 'a' | 'b'): JobHandlers => ({
            'notification.send': async (_deps, _payload, ctx) => {
              calls.push({ worker, signal: ctx.signal });
              await released[worker].promise;
            },
          });
          // A's heartbeat would come long after its lease ran out: as if its process had frozen.
          // With one slot, busy with the job, A claims nothing more.
          await start({ deps, name: 'worker-a', handlers: handlersOf('a'), concurrency: 1, leaseMs: 300, heartbeatMs: 60_000, pollMs: 60_000 });
          const queued = await enqueueJob(store, deps.clock, 'notification.send', {});
          await eventually('A to run the job', async () => (calls.length === 1 ? true : undefined), 5_000);
          await start({ deps, name: 'worker-b', handlers: handlersOf('b'), leaseMs: 60_000, pollMs: 50 });
          await eventually('B to take the job over', async () => (calls.length === 2 ? true : undefined), 5_000);
          assert.deepEqual(calls.map((c) => c.worker), ['a', 'b']);
          const taken = await store.findJob(queued.id);
          assert.equal(taken?.attempts, 2);
          assert.match(taken.lockedBy ?? '', /^worker-b#/);

          // A ends while B holds the job: nothing of A's is recorded.
          released.a.open();
          await sleep(200);
          const still = await store.findJob(queued.id);
          assert.deepEqual([still?.state, still?.lockedBy], ['running', taken.lockedBy]);

          released.b.open();
          const done = await eventually('B to complete it', async () => {
            const row = await store.findJob(queued.id);
            return row?.state === 'done' ? row : undefined;
          }, 5_000);
          assert.equal(done.attempts, 2);
          assert.equal(calls.length, 2, 'it ran once per claim, no more');
        } finally {
          released.a.open();
          released.b.open();
          await stopAll();
          await dispose();
        }
      });
    });

    test('a heartbeat that finds the job taken over aborts the handler’s signal', async () => {
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        try {
          let signal: AbortSignal | undefined;
          await start({
            deps,
            handlers: {
              'notification.send': async (_deps, _payload, ctx) => {
                signal = ctx.signal;
                await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
              },
            },
            heartbeatMs: 50,
            pollMs: 60_000,
          });
          const queued = await enqueueJob(store, deps.clock, 'notification.send', {});
          const running = await eventually('the job to run', async () => {
            const row = await store.findJob(queued.id);
            return signal && row?.state === 'running' ? row : undefined;
          }, 5_000);
          // Another claimer takes it (as after a lease that ran out): the next heartbeat is refused.
          assert.equal(await store.completeJob({ id: running.id, lockedBy: running.lockedBy }, new Date().toISOString()), true);
          await eventually('the signal to abort', async () => (signal?.aborted ? true : undefined), 5_000);
        } finally {
          await stopAll();
          await dispose();
        }
      });
    });

    test('stop() claims nothing more and waits for the handler in flight', async () => {
      await withStore(backend, async (store) => {
        const { deps, dispose } = await testDeps(store);
        const release = gate();
        try {
          let started = 0;
          let finished = 0;
          const worker = await start({
            deps,
            handlers: {
              'notification.send': async () => {
                started++;
                await release.promise;
                finished++;
              },
            },
            concurrency: 1,
            pollMs: 60_000,
          });
          const first = await enqueueJob(store, deps.clock, 'notification.send', {});
          const second = await enqueueJob(store, deps.clock, 'notification.send', {});
          await eventually('the first job to start', async () => (started === 1 ? true : undefined), 5_000);
          let stopped = false;
          const stopping = worker.stop().then(() => (stopped = true));
          await sleep(150);
          assert.equal(stopped, false, 'stop() waits for the handler');
          release.open();
          await stopping;
          assert.equal(finished, 1);
          assert.equal((await store.findJob(first.id))?.state, 'done', 'its outcome is recorded before stop() returns');
          assert.equal((await store.findJob(second.id))?.state, 'queued', 'nothing new was claimed');
          assert.equal(started, 1);
        } finally {
          release.open();
          await stopAll();
          await dispose();
        }
      });
    });

    test('two workers on two connections claim 50 jobs: each runs exactly once', async (ctx) => {
      const db = await backend.create();
      const stores = [await openStore(db.url, { secretKey: TEST_SECRET_KEY }), await openStore(db.url, { secretKey: TEST_SECRET_KEY })];
      const [storeA, storeB] = stores as [Store, Store];
      const contexts = await Promise.all(stores.map((s) => testDeps(s)));
      try {
        if (!storeA.capabilities.concurrentWriters) {
          ctx.skip('one process writes a SQLite database; its claims are serialized by that writer');
          return;
        }
        const runs = new Map<number, string[]>();
        const handlersOf = (worker: string): JobHandlers => ({
          'notification.send': async (_deps, payload, jobCtx) => {
            runs.set(jobCtx.job.id, [...(runs.get(jobCtx.job.id) ?? []), worker]);
            assert.equal(typeof payload.n, 'number');
            // A little work, so the two workers overlap.
            await sleep(Math.random() * 5);
          },
        });
        const ids: number[] = [];
        await storeA.transaction(async (tx) => {
          for (let n = 0; n < 50; n++) ids.push((await enqueueJob(tx, systemClock, 'notification.send', { n })).id);
        });
        await Promise.all([
          start({ deps: contexts[0]?.deps as ServiceDeps, name: 'a', handlers: handlersOf('a'), concurrency: 2, pollMs: 20 }),
          start({ deps: contexts[1]?.deps as ServiceDeps, name: 'b', handlers: handlersOf('b'), concurrency: 2, pollMs: 20 }),
        ]);
        await eventually('every job to be done', async () => ((await storeB.countJobs('done')) === 50 ? true : undefined), 20_000);
        assert.deepEqual([...runs.keys()].sort((x, y) => x - y), ids);
        assert.deepEqual([...new Set([...runs.values()].map((workers) => workers.length))], [1], 'each job ran exactly once');
        const byWorker = [...runs.values()].flat();
        assert.ok(byWorker.includes('a') && byWorker.includes('b'), 'both workers took part');
      } finally {
        await stopAll();
        for (const s of stores) await s.close();
        for (const c of contexts) await c.dispose();
        await db.dispose();
      }
    });

    test('a queued job an open transaction joined is not claimed before that transaction commits; other enqueues join it without waiting', async (ctx) => {
      await withStore(backend, async (storeA, url) => {
        const storeB = await openStore(url, { secretKey: TEST_SECRET_KEY });
        try {
          if (!storeA.capabilities.skipLocked) {
            ctx.skip('SQLite has one writer: no claim runs while a transaction is open');
            return;
          }
          const claimB = () => storeB.claimJob({ lockedBy: 'b#1', kinds: ['notification.send'], now: at(5), lockedUntil: at(50) });
          const queued = await storeA.enqueueJob(job({ key: 'joined' }));
          await storeA.transaction(async (tx) => {
            // What the job is about (a delivery, a check) is written here, then the job joined.
            assert.equal((await tx.enqueueJob(job({ key: 'joined' }))).id, queued.id);
            // Run now, the job could miss what this transaction wrote: it must wait for the commit.
            assert.equal(await claimB(), undefined);
            // Another transaction joining it meanwhile is not held up by this one.
            const other = storeB.transaction((txB) => txB.enqueueJob(job({ key: 'joined', runAt: at(1) })));
            const joined = await Promise.race([other, sleep(3_000).then(() => 'waited' as const)]);
            assert.notEqual(joined, 'waited');
            assert.equal(typeof joined === 'object' ? joined.id : undefined, queued.id);
          });
          assert.equal((await claimB())?.id, queued.id);
        } finally {
          await storeB.close();
        }
      });
    });

    test('a failed job goes back to queued even while another transaction is queuing the next job of its key', async (ctx) => {
      await withStore(backend, async (storeA, url) => {
        const storeB = await openStore(url, { secretKey: TEST_SECRET_KEY });
        try {
          if (!storeA.capabilities.concurrentWriters) {
            ctx.skip('SQLite has one writer: the two cannot overlap');
            return;
          }
          await storeA.enqueueJob(job({ key: 'busy' }));
          const running = await storeB.claimJob({ lockedBy: 'b#1', kinds: ['notification.send'], now: at(1), lockedUntil: at(50) });
          assert.ok(running);
          let failing: Promise<'queued' | 'dead' | undefined> | undefined;
          await storeA.transaction(async (tx) => {
            await tx.enqueueJob(job({ key: 'busy', runAt: at(2) }));
            // Not visible to B until this commits; B's move then collides with it, and tries again.
            failing = storeB.failJob(leaseOf(running), { error: 'boom', now: at(3), retryAt: at(20) });
            await sleep(100);
          });
          assert.equal(await failing, 'queued');
          const queued = (await storeA.listJobs({ state: 'queued' }, { limit: 10 })).filter((j) => j.key === 'busy');
          assert.deepEqual(queued.map((j) => [j.id, j.runAt]), [[running.id, at(20)]], 'one queued job of the key: the failed one, at its backoff');
        } finally {
          await storeB.close();
        }
      });
    });

    test('store-level claims from two connections at once never take the same job', async (ctx) => {
      await withStore(backend, async (storeA, url) => {
        const storeB = await openStore(url, { secretKey: TEST_SECRET_KEY });
        try {
          if (!storeA.capabilities.skipLocked) {
            ctx.skip('no SKIP LOCKED: SQLite claims are one UPDATE under its one writer');
            return;
          }
          for (let n = 0; n < 50; n++) await storeA.enqueueJob(job({ payload: { n } }));
          const claimed: number[] = [];
          let counter = 0;
          const claimer = async (s: Store) => {
            for (;;) {
              const next = await s.claimJob({ lockedBy: `c#${++counter}`, kinds: ['notification.send'], now: at(1), lockedUntil: at(100) });
              if (!next) return;
              claimed.push(next.id);
            }
          };
          await Promise.all([claimer(storeA), claimer(storeB), claimer(storeA), claimer(storeB)]);
          assert.equal(claimed.length, 50);
          assert.equal(new Set(claimed).size, 50);
        } finally {
          await storeB.close();
        }
      });
    });
  });
}
