/**
 * Removes secrets from text before it leaves the process: events, log lines, stored errors, pull request text.
 *
 * Two kinds of secret are removed:
 * - the exact values registered with `add` (and the forms they commonly leak in: base64 of git's Basic
 *   `x-access-token:<value>`, plain base64, URL-encoded and JSON-escaped), wherever they appear, even in
 *   the middle of a word, a URL or a JSON string;
 * - well-known credential shapes that were never registered (GitHub, Anthropic, OpenAI, Google, Slack and AWS
 *   keys, JWTs, PEM private keys, URL userinfo, the value of an `Authorization` header), so a credential from
 *   somewhere else (the agent's own environment, a file in the repository) is caught too.
 *
 * Every match becomes `[REDACTED:<kind>]`: the kind helps whoever reads the log, and no part of the value
 * survives. The replacement contains no quote or backslash, so redacting a serialized JSON line keeps it JSON.
 * All patterns are one regular expression, rebuilt on `add`: text with nothing to redact costs one scan.
 *
 * What it leaves out: a secret split across two calls (two chunks of a stream), or transformed in ways other
 * than the encodings above (reversed, hex, spaced out) is not recognized. Values shorter than
 * MIN_SECRET_CHARS are ignored: redacting them would mangle ordinary text.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp = buildPattern([]);

  /** Registers an exact value (say, an API key read from the environment). Empty and short values are ignored. */
  add(secret: string | undefined | null): void {
    if (!secret) return;
    const before = this.secrets.size;
    for (const form of leakForms(secret)) if (form.length >= MIN_SECRET_CHARS) this.secrets.add(form);
    if (this.secrets.size !== before) this.pattern = buildPattern([...this.secrets]);
  }

  redact(text: string): string {
    // `replace` with a global regex restarts from lastIndex 0 on its own; a fresh scan per call.
    return text.replace(this.pattern, replaceMatch);
  }

  /**
   * Every string inside a JSON-like value (strings, arrays, plain objects, keys included), redacted. Returns the
   * same value when nothing needed redacting, a redacted copy otherwise; the input is never changed. Other
   * objects (Dates, class instances, Errors) are returned as they are: serialize them first.
   */
  redactValue<T>(value: T): T {
    return this.redactAny(value) as T;
  }

  private redactAny(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const redacted = this.redactAny(item);
        if (redacted !== item) (copy ??= value.slice())[i] = redacted;
      }
      return copy ?? value;
    }
    if (isPlainObject(value)) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        const redactedKey = this.redact(key);
        const redacted = this.redactAny(item);
        if (redactedKey === key && redacted === item) continue;
        copy ??= { ...value };
        if (redactedKey !== key) delete copy[key];
        copy[redactedKey] = redacted;
      }
      return copy ?? value;
    }
    return value;
  }
}

/** Shorter values are left alone: a 6-character "secret" would turn ordinary words into [REDACTED]. */
export const MIN_SECRET_CHARS = 8;

/** The forms one secret leaks in, each matched as an exact string. */
function leakForms(secret: string): string[] {
  const forms = [
    secret,
    // git's Basic auth header for a token (what GIT_TRACE_CURL or a proxy log shows), and plain base64; each
    // also without its padding, which is absent when the value is the start of a longer encoded text.
    ...base64Forms(`x-access-token:${secret}`),
    ...base64Forms(secret),
    encodeURIComponent(secret),
    // A multi-line secret (a PEM key) inside a JSON string, such as a serialized log line.
    JSON.stringify(secret).slice(1, -1),
  ];
  // A multi-line secret may leak a line at a time; BEGIN/END lines are public, the PEM pattern covers them.
  if (secret.includes('\n')) {
    for (const line of secret.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_LINE_OF_SECRET_CHARS && !trimmed.startsWith('-----')) forms.push(trimmed);
    }
  }
  return forms;
}

function base64Forms(text: string): string[] {
  const padded = Buffer.from(text).toString('base64');
  return [padded, padded.replace(/=+$/, '')];
}

/** One line of a multi-line secret counts as secret from this length (a PEM body line is 64). */
const MIN_LINE_OF_SECRET_CHARS = 16;

/** Chars of a PEM body: base64, line breaks (raw or JSON-escaped `\n`) and the `Proc-Type: 4,ENCRYPTED` headers. */
const PEM_BODY = String.raw`[A-Za-z0-9+/=\s\\:,-]`;

/**
 * Credential shapes, each a named group, tried in this order at every position. Each names its kind; groups
 * named `keep…` are written back unchanged (the `Authorization:` before a redacted value).
 */
const SHAPES: readonly string[] = [
  String.raw`(?<pem>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----${PEM_BODY}*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|(?!${PEM_BODY})))`,
  // `Authorization: Bearer x`, `authorization=token x`, `"authorization":"Basic x"`: the header name stays.
  String.raw`(?<keepAuthorization>\b[Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Aa][Tt][Ii][Oo][Nn]["']?\s*[:=]\s*["']?\s*(?:(?:[Bb]earer|[Bb]asic|[Tt]oken|[Bb]ot)\s+)?)(?<authorization>[A-Za-z0-9+/=._~-]{8,})`,
  String.raw`(?<keepBearer>\b[Bb]earer\s+)(?<bearer>[A-Za-z0-9._~+/-]{16,}=*)`,
  String.raw`(?<github>\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}))`,
  String.raw`(?<anthropic>\bsk-ant-[A-Za-z0-9_-]{8,})`,
  // OpenAI-style: long, and mixing digits and letters, so `sk-some-hyphenated-words` is left alone.
  String.raw`(?<openai>\bsk-(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,})`,
  String.raw`(?<google>\bAIza[0-9A-Za-z_-]{35})`,
  String.raw`(?<slack>\bxox[abprse]-[A-Za-z0-9-]{10,})`,
  String.raw`(?<aws>\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)`,
  // A JWT (a GitHub App's, an OIDC token): header and payload are base64url JSON, so both start with eyJ.
  String.raw`(?<jwt>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)`,
  // `https://user:secret@host`: the userinfo goes, scheme and host stay.
  // Anchored on the literal `://`, not on the scheme: a pattern that starts at every word costs 5x the scan.
  String.raw`(?<keepScheme>://)(?<userinfo>[^/\s:@"'<>]+:[^/\s@"'<>]+)(?=@)`,
];

const KINDS = ['secret', 'pem', 'authorization', 'bearer', 'github', 'anthropic', 'openai', 'google', 'slack', 'aws', 'jwt', 'userinfo'] as const;
const KEEP_GROUPS = ['keepAuthorization', 'keepBearer', 'keepScheme'] as const;

function buildPattern(secrets: readonly string[]): RegExp {
  // Longest first, so a secret that contains another is replaced whole.
  const exact = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const alternatives = exact.length > 0 ? [`(?<secret>${exact.join('|')})`, ...SHAPES] : SHAPES;
  return new RegExp(alternatives.join('|'), 'g');
}

function replaceMatch(...args: unknown[]): string {
  const groups = args.at(-1) as Record<string, string | undefined>;
  let kept = '';
  for (const name of KEEP_GROUPS) kept += groups[name] ?? '';
  const kind = KINDS.find((k) => groups[k] !== undefined) ?? 'secret';
  return `${kept}[REDACTED:${kind}]`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
