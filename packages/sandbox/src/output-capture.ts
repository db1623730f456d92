/**
 * Keeps the head of one output stream up to a byte limit. The head, not the tail, because an agent's
 * first lines (its configuration, the first error) explain a failure better than the last ones, and
 * keeping the head needs no copying once the limit is reached.
 */
export class OutputCapture {
  private readonly chunks: Buffer[] = [];
  private keptBytes = 0;
  private droppedBytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    const room = this.maxBytes - this.keptBytes;
    if (room >= chunk.length) {
      this.chunks.push(chunk);
      this.keptBytes += chunk.length;
      return;
    }
    if (room > 0) {
      this.chunks.push(chunk.subarray(0, room));
      this.keptBytes += room;
    }
    this.droppedBytes += chunk.length - Math.max(room, 0);
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }

  /** UTF-8 text of the kept head, with a note on the last line when output was dropped. */
  text(): string {
    const head = Buffer.concat(this.chunks, this.keptBytes).toString('utf8');
    if (this.droppedBytes === 0) return head;
    return `${head}\n[output truncated: ${this.droppedBytes} more bytes after the first ${this.keptBytes}]\n`;
  }
}
