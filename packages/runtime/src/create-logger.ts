import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Redactor } from '@tinyb/core';
import { activeTraceIds } from './tracing.js';

/**
 * Paths pino blanks out wherever they appear in a log line's fields. Redaction lives here, in the logger,
 * so no caller has to remember it.
 */
const REDACT_PATHS = [
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.privateKey',
  'token',
  'apiKey',
  'headers.authorization',
  'req.headers.authorization',
  'env.GITHUB_TOKEN',
  'env.ANTHROPIC_API_KEY',
  'env.GEMINI_API_KEY',
  'env.OPENAI_API_KEY',
  'env.API_TOKEN',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Human-readable lines (development) instead of JSON (production). */
  pretty?: boolean;
  /**
   * The process's redactor: every line, as serialized (message, fields, bindings of child loggers, errors'
   * messages and stacks), passes through it before it is written.
   */
  redactor?: Redactor;
  /** Where lines go instead of stdout (tests); `pretty` is ignored with it. */
  destination?: DestinationStream;
}

export function createLogger({ name, level = 'info', pretty = false, redactor, destination }: LoggerOptions): PinoLogger {
  const target = destination ?? (pretty ? pino.transport(PRETTY_TRANSPORT) : pino.destination({ dest: process.stdout.fd || 1 }));
  // Redacting the serialized line, not the log call's arguments, catches everything pino writes whatever its
  // source: child bindings (serialized once, at `child`), serializers' output, `err.message` and `err.stack`.
  // Every line written inside a span names its trace (traceId, spanId): logs and traces of a job join up.
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, mixin: activeTraceIds }, redactor ? redactingStream(target, redactor) : target);
}

const PRETTY_TRANSPORT = { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } };

function redactingStream(target: DestinationStream & { flush?: (cb: (err?: Error) => void) => void }, redactor: Redactor): DestinationStream {
  return {
    write: (line: string) => target.write(redactor.redact(line)),
    // `logger.flush()` looks for `flush` on the stream pino was given: pass it on to the real one.
    ...(target.flush ? { flush: (cb: (err?: Error) => void) => target.flush!(cb) } : {}),
  };
}
