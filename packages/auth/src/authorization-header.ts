/** What an Authorization header presents: a Bearer token, or the password of HTTP Basic auth. */
export interface PresentedCredential {
  scheme: 'bearer' | 'basic';
  secret: string;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const BASIC = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

/**
 * Reads the credential out of an Authorization header; undefined when there is none or it is malformed.
 * Basic auth exists for browsers (Bull Board), which cannot send a Bearer header: the user name is
 * ignored, the password is the key.
 */
export function presentedCredential(header: string | undefined): PresentedCredential | undefined {
  if (header === undefined) return undefined;
  const bearer = BEARER.exec(header);
  if (bearer?.[1] !== undefined) return { scheme: 'bearer', secret: bearer[1] };
  const basic = BASIC.exec(header);
  if (basic?.[1] === undefined) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const password = decoded.slice(colon + 1);
  return password === '' ? undefined : { scheme: 'basic', secret: password };
}
