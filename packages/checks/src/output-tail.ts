/**
 * The last `maxChars` characters of a stream of output chunks, without holding the rest: a test run can print
 * megabytes, and only its end (the failures, the summary) is worth keeping.
 */
export class OutputTail {
  private text = '';
  private dropped = false;

  constructor(private readonly maxChars: number) {}

  push(chunk: string): void {
    this.text += chunk;
    // Trim only once well past the limit, so a stream of small chunks does not copy the buffer every time.
    if (this.text.length > this.maxChars * 2) this.trim();
  }

  toString(): string {
    this.trim();
    return this.dropped ? `…${this.text}` : this.text;
  }

  private trim(): void {
    if (this.text.length <= this.maxChars) return;
    this.text = this.text.slice(-this.maxChars);
    this.dropped = true;
  }
}
