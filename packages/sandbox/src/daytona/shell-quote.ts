/**
 * One argument as a POSIX shell word: wrapped in single quotes, inside which nothing is special, with each
 * `'` written as `'\''` (close the quote, an escaped quote, reopen). Safe for any string without NUL,
 * which no argv or C string can hold anyway, so NUL is refused rather than silently cut.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL byte');
  // Plain words stay readable in Daytona's command log; the set is one no shell gives a meaning to.
  if (/^[A-Za-z0-9_./=:,+@%-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one command string for an API that only takes strings: every word quoted, never joined raw. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
