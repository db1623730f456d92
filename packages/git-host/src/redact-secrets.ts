/**
 * Removes credentials from text that is about to leave the adapter (error messages, git's stderr):
 * each given secret, its `x-access-token:` Basic form, and anything that looks like an auth header value,
 * a GitHub token (`ghp_`, `ghs_` installation tokens, …), a JWT (a GitHub App's), a PEM private key or URL
 * userinfo, so a credential from some other source is caught too.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    const forms = [secret, Buffer.from(`x-access-token:${secret}`).toString('base64'), encodeURIComponent(secret)];
    for (const form of forms) out = out.split(form).join('[REDACTED]');
  }
  return out
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[REDACTED PRIVATE KEY]')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[REDACTED]')
    .replace(/\b(authorization:\s*)?(basic|bearer|token)\s+[A-Za-z0-9+/=._~-]{20,}/gi, (_m, header: string | undefined, scheme: string) => `${header ?? ''}${scheme} [REDACTED]`)
    .replace(/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]+/g, '[REDACTED]')
    .replace(/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1[REDACTED]@');
}
