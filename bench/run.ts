// `npm run bench`: runs every benchmark in turn, each in its own process, and prints their
// tables. Arguments narrow the run: `npm run bench -- rollback`.
import { spawnSync } from 'node:child_process';

const all = ['build-overhead.ts', 'upload-bytes.ts', 'deploy-delta.ts', 'rollback-latency.ts', 'agent-rollback.ts', 'edge-throughput.ts', 'webhook-ack.ts', 'manifest-validation.ts', 'pipeline-view.ts', 'check-to-live.ts', 'cli-start.ts', 'rolling-load.ts', 'agents-notify.ts', 'sse-fanout.ts', 'dashboard-page.ts'];
const filters = process.argv.slice(2);
const chosen = all.filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)));
let failed = 0;
for (const name of chosen) {
  console.log(`\n# bench/${name}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', new URL(name, import.meta.url).pathname], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
