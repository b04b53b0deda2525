import { formatBytes } from './output.ts';
import type { OutputStream } from './output.ts';

import { silentProgress as silent, type Progress } from '../publish/progress.ts';

export type { Progress };

/**
 * A one-line bar on stderr, redrawn at most ten times a second: `[#####-----] 3/8 files  1.2/4.0 MB`.
 * Only for a person watching a terminal: without a TTY (or with --json) it draws nothing.
 */
export function createProgress(stream: OutputStream, label: string, totalFiles: number, totalBytes: number, enabled: boolean): Progress {
  if (!enabled || !stream.isTTY || totalFiles === 0) return silent;
  let files = 0;
  let bytes = 0;
  let drawnAt = 0;
  const width = 24;
  const draw = (): void => {
    const ratio = totalBytes > 0 ? bytes / totalBytes : files / totalFiles;
    const filled = Math.min(width, Math.round(ratio * width));
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    stream.write(`\r${label} [${bar}] ${files}/${totalFiles} files  ${formatBytes(bytes)}/${formatBytes(totalBytes)}\x1b[K`);
  };
  return {
    advance(n) {
      files += 1;
      bytes += n;
      const now = Date.now();
      if (now - drawnAt >= 100 || files === totalFiles) {
        drawnAt = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}
