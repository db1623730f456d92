import { pino, type Logger as PinoLogger } from 'pino';

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
}

export function createLogger({ name, level = 'info', pretty = false }: LoggerOptions): PinoLogger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
