export { formatBytes } from '../core/bytes.ts';

/** Where a command writes. Injected so commands run against in-memory streams in unit tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/**
 * stdout carries results (tables, URLs, `--json` documents); stderr carries progress, warnings
 * and errors, so `slipway … | tail -1` and `slipway … --json | jq` always see results only.
 */
export class Output {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;

  constructor(stdout: OutputStream, stderr: OutputStream) {
    this.stdout = stdout;
    this.stderr = stderr;
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Side information for a person (never for a script): goes to stderr. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`warning: ${text}\n`);
  }

  error(message: string, code: string): void {
    this.stderr.write(`error: ${message} (${code})\n`);
  }

  /** The API's error envelope, as one line on stdout, for `--json` callers (`… --json | jq .error.code`). */
  jsonError(code: string, message: string, details?: Record<string, unknown>): void {
    const error = details === undefined ? { code, message } : { code, message, details };
    this.stdout.write(`${JSON.stringify({ error })}\n`);
  }

  /** Columns padded to their widest cell; the last column is not padded. */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const format = (cells: readonly string[]): string =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    this.line(format(headers));
    for (const row of rows) this.line(format(row));
  }
}

/** `2024-05-01T12:34:56.789Z` → `2024-05-01 12:34:56` (UTC, as stored). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
