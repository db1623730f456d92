/**
 * Turns a stream of text chunks, split at arbitrary places, into complete lines as soon as each one ends.
 * Shared by every CLI agent that prints one JSON object per line (Claude Code, Gemini, …).
 * Blank lines are dropped; a trailing `\r` is removed; an unterminated last line comes out on `end()`.
 */
export class NdjsonLines {
  private buffer = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline !== -1) {
      this.deliver(this.buffer.slice(0, newline));
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf('\n');
    }
  }

  /** Flushes a last line that had no newline (a CLI killed mid-write, or one that omits the final `\n`). */
  end(): void {
    const rest = this.buffer;
    this.buffer = '';
    this.deliver(rest);
  }

  private deliver(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() !== '') this.onLine(line);
  }
}
