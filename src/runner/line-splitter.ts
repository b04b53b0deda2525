/** Longest log line sent as one; the wire allows 16,384 characters. */
export const MAX_LINE_LENGTH = 8192;

/**
 * Turns a stream's decoded text chunks into lines. A line ends at `\n` (a `\r` before it is
 * dropped, so CRLF output reads like LF); a chunk that ends mid-line is held until the rest
 * arrives; a line longer than `maxLength` is cut into pieces of at most that length (never
 * between the two halves of a surrogate pair), so one minified bundle on stdout cannot make
 * a log line the server refuses.
 */
export class LineSplitter {
  readonly #maxLength: number;
  #pending = '';

  constructor(maxLength = MAX_LINE_LENGTH) {
    this.#maxLength = maxLength;
  }

  push(chunk: string): string[] {
    const lines: string[] = [];
    let text = this.#pending + chunk;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const line = text.slice(0, newline);
      this.#cut(line.endsWith('\r') ? line.slice(0, -1) : line, lines);
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    // Hold the tail, minus whole pieces already too long to wait for (a `\r` at the very end
    // may be half of a CRLF, so it waits with the rest).
    while (text.length > this.#maxLength) {
      const end = this.#safeEnd(text, this.#maxLength);
      lines.push(text.slice(0, end));
      text = text.slice(end);
    }
    this.#pending = text;
    return lines;
  }

  /** What is left once the stream ended: a last line without a newline, if any. */
  end(): string[] {
    const rest = this.#pending;
    this.#pending = '';
    if (rest === '') return [];
    const lines: string[] = [];
    this.#cut(rest.endsWith('\r') ? rest.slice(0, -1) : rest, lines);
    return lines;
  }

  #cut(line: string, into: string[]): void {
    let rest = line;
    while (rest.length > this.#maxLength) {
      const end = this.#safeEnd(rest, this.#maxLength);
      into.push(rest.slice(0, end));
      rest = rest.slice(end);
    }
    into.push(rest);
  }

  #safeEnd(text: string, end: number): number {
    const code = text.charCodeAt(end - 1);
    return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
  }
}
