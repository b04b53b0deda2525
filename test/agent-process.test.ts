import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { test } from 'node:test';
import { stopGroup, waitHealthy } from '../src/agent/process.ts';
import { freePort } from './support/agent-process.ts';

test('a process group whose processes all exited is gone, though nobody has reaped them yet', { skip: process.platform !== 'linux' }, async () => {
  // The group's one process exits at once; its parent becomes `sleep`, which never reaps it: a
  // zombie, as a service is when its shell died first and init is slow to reap the orphan.
  const parent = spawn('/bin/sh', ['-c', 'setsid sh -c "exit 0" & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    assert.ok(pid > 1);
    // Until it has exited.
    for (let i = 0; i < 200; i++) {
      const exited = await new Promise<boolean>((resolve) => {
        spawn('ps', ['-o', 'stat=', '-p', String(pid)]).stdout.on('data', (d: Buffer) => resolve(d.toString().trim().startsWith('Z'))).on('end', () => resolve(false));
      });
      if (exited) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const t0 = performance.now();
    assert.equal(await stopGroup({ pid, startTime: null }, 3_000), 'gone');
    assert.ok(performance.now() - t0 < 1_000, 'not waited for as if it ran');
  } finally {
    parent.kill('SIGKILL');
  }
});

test('health checks probe quickly at first, then less often', async () => {
  const port = await freePort();
  let probes = 0;
  const t0 = performance.now();
  // Unhealthy for its first 150 ms: probed every 250 ms it would be seen healthy on the second probe.
  const server = createServer((_req, res) => {
    probes++;
    res.statusCode = performance.now() - t0 < 150 ? 503 : 200;
    res.end();
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  try {
    assert.equal(await waitHealthy(port, '/healthz', 5_000, () => undefined), 'healthy');
    assert.ok(probes >= 4, `${probes} probes`);
  } finally {
    server.close();
  }
});
