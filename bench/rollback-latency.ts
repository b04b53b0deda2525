// Static rollback latency: from the rollback API call returning to the edge serving the old
// bytes, on SQLite and PostgreSQL. Baseline in the same run: a plain edge GET of the same
// environment URL. Target (issue): p50 ≤ 50 ms on loopback.
//   node --import tsx bench/rollback-latency.ts   (BENCH_ROUNDS=200 by default)
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { benchServer, percentile, table, withPostgresDatabase } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function get(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

async function deploy(client: SlipwayClient, body: string): Promise<string> {
  const digest = createHash('sha256').update(body).digest('hex');
  const upload = await client.createUpload('shop', { files: [{ path: 'index.html', sha256: digest, size: Buffer.byteLength(body), mode: 0o644 }] });
  if (upload.missing.length) await client.putBlob(digest, Buffer.from(body));
  return (await client.finalizeUpload('shop', upload.id)).id;
}

async function measure(label: string, databaseUrl?: string): Promise<(string | number)[]> {
  const { server, client, dispose } = await benchServer(databaseUrl);
  try {
    await client.createProject('shop');
    const a = await deploy(client, 'old bytes');
    const b = await deploy(client, 'new bytes');
    const host = `shop.localhost:${server.port}`;
    await client.promote('shop', 'production', { deployment: a, reason: 'bench' });
    const baseline: number[] = [];
    const call: number[] = [];
    const visible: number[] = [];
    let extraRequests = 0;
    for (let i = 0; i < ROUNDS; i++) {
      await client.promote('shop', 'production', { deployment: b, reason: 'bench' });
      let t0 = performance.now();
      await get(server.port, host);
      baseline.push(performance.now() - t0);

      t0 = performance.now();
      await client.rollback('shop', 'production', { reason: 'bench' });
      const returned = performance.now();
      call.push(returned - t0);
      while ((await get(server.port, host)) !== 'old bytes') extraRequests++;
      visible.push(performance.now() - returned);
    }
    return [
      label,
      percentile(baseline, 50),
      percentile(call, 50),
      percentile(call, 99),
      percentile(visible, 50),
      percentile(visible, 99),
      percentile(visible, 50) / percentile(baseline, 50),
      extraRequests,
    ];
  } finally {
    await dispose();
  }
}


const rows = [await measure('sqlite')];
rows.push(await withPostgresDatabase((url) => measure('postgres', url)));
agent.destroy();
console.log(`\n## Static rollback latency (${ROUNDS} rounds, ms)\n`);
console.log(
  table(
    ['store', 'baseline edge GET p50', 'rollback call p50', 'rollback call p99', 'return → old bytes served p50', 'p99', 'ratio p50 / baseline', 'stale responses'],
    rows,
  ),
);
console.log('\nTarget: return → old bytes served p50 ≤ 50 ms. "stale responses" counts requests after the call returned that still saw the new bytes (0 = visible on the very next request).');
