import { readdirSync, readFileSync } from 'node:fs';

/**
 * Host pids (not zombies) whose command line starts with `marker` (`sleep 300.4711`, not the
 * shell or the bwrap whose arguments merely mention it). A sandboxed build sees its own
 * PID namespace, so the pids it prints mean nothing here: tests give its processes a unique
 * argument (`sleep 300.4711`) and look for that instead.
 */
export function hostProcessesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (!cmdline.startsWith(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      found.push(Number(entry));
    } catch {
      // The process ended while we looked: it is not running.
    }
  }
  return found;
}

/** A number unique enough to tell this test's processes from any other's. */
export function uniqueSeconds(base: number): string {
  return `${base}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}
