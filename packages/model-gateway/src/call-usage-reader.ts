import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { TokenCounts } from './provider-profiles.js';

/**
 * Reads one model call's token counts from a copy of its response bytes while they pass to the client: a
 * `text/event-stream` is parsed event by event as it arrives; any other body is kept (up to `maxJsonBytes`) and
 * parsed once it ends. Observations overwrite each other field by field, because every provider reports running
 * totals for the call (Anthropic's message_delta, each Gemini chunk) or reports once (OpenAI's last chunk).
 *
 * It never throws into the stream it watches: a payload it cannot read is simply not counted.
 */
export class CallUsageReader {
  private readonly counts: TokenCounts = { inputTokens: 0, outputTokens: 0 };
  private seen = false;
  private readonly sse: { parser: EventSourceParser; decoder: StringDecoder } | undefined;
  private readonly json: Buffer[] = [];
  private jsonBytes = 0;
  private jsonOverflow = false;

  constructor(
    private readonly opts: {
      contentType: string;
      usageIn(payload: unknown): Partial<TokenCounts> | undefined;
      maxJsonBytes: number;
    },
  ) {
    if (/^\s*text\/event-stream/i.test(opts.contentType)) {
      const parser = createParser({ onEvent: (event) => this.observeText(event.data) });
      this.sse = { parser, decoder: new StringDecoder('utf8') };
    }
  }

  write(chunk: Buffer): void {
    if (this.sse) {
      this.sse.parser.feed(this.sse.decoder.write(chunk));
      return;
    }
    if (this.jsonOverflow) return;
    this.jsonBytes += chunk.length;
    if (this.jsonBytes > this.opts.maxJsonBytes) {
      this.jsonOverflow = true;
      this.json.length = 0;
      return;
    }
    this.json.push(chunk);
  }

  /** The call's counts once its response has ended (or was cut): null when the response showed none. */
  finish(): TokenCounts | null {
    if (this.sse) {
      // A cut stream's last event may lack its blank line; what it reports was still spent upstream.
      this.sse.parser.feed(`${this.sse.decoder.end()}\n\n`);
    } else if (!this.jsonOverflow && this.json.length > 0) {
      this.observeText(Buffer.concat(this.json).toString('utf8'));
    }
    return this.seen ? { ...this.counts } : null;
  }

  /** True when a non-stream body was too large to read for usage. */
  get overflowed(): boolean {
    return this.jsonOverflow;
  }

  private observeText(text: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return; // `[DONE]`, keep-alives, or a body that is not JSON
    }
    // Gemini's streamGenerateContent without `alt=sse` answers one JSON array of chunks.
    for (const item of Array.isArray(payload) ? payload : [payload]) {
      const found = this.opts.usageIn(item);
      if (found === undefined) continue;
      if (found.inputTokens !== undefined) this.counts.inputTokens = found.inputTokens;
      if (found.outputTokens !== undefined) this.counts.outputTokens = found.outputTokens;
      this.seen = true;
    }
  }
}
