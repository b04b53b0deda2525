/** One message of a Server-Sent Events stream. */
export interface SseMessage {
  /** `event:`; "message" when absent. */
  event: string;
  /** The `data:` lines, joined by newlines. */
  data: string;
}

/**
 * Reads a Server-Sent Events stream as its text arrives, in pieces of any size: `push` each
 * piece, and `onMessage` is called once per complete message, `onComment` once per comment
 * line (`: ping`). Lines end in LF, CRLF or CR, as the format allows. A line longer than
 * `maxLine` characters (a stream that is not what it claims) throws rather than growing.
 */
export class SseParser {
  readonly #onMessage: (message: SseMessage) => void;
  readonly #onComment: ((text: string) => void) | undefined;
  readonly #maxLine: number;
  #buffer = '';
  #event = '';
  #data: string[] = [];

  constructor(onMessage: (message: SseMessage) => void, options: { onComment?: (text: string) => void; maxLine?: number } = {}) {
    this.#onMessage = onMessage;
    this.#onComment = options.onComment;
    this.#maxLine = options.maxLine ?? 64 * 1024;
  }

  push(text: string): void {
    this.#buffer += text;
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (this.#buffer[end] === '\r' && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + (this.#buffer.startsWith('\r\n', end) ? 2 : 1));
      this.#line(line);
    }
    if (this.#buffer.length > this.#maxLine) throw new Error(`a Server-Sent Events line longer than ${this.#maxLine} characters`);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) this.#onMessage({ event: this.#event || 'message', data: this.#data.join('\n') });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) {
      this.#onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }
}
