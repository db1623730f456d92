import { presentedCredential, type Authenticator, type Principal } from '@tinyb/auth';
import type { ServerResponse } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { sendError } from './http-errors.js';

/** The realm browsers show when Bull Board asks for the admin key. */
const ADMIN_REALM = 'tiny-backspace';

/**
 * The API's side of authentication, a thin adapter over @tinyb/auth: it reads the Authorization header,
 * asks the Authenticator who that is, and keeps the answer in `res.locals` for the handlers
 * (`principalOf`). Refusals are 401 in the API's error shape, with the challenge the client can answer.
 */
export function authenticate(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    const principal = bearerPrincipal(auth, req.headers.authorization);
    if (principal === null) return refuseUnauthenticated(res);
    res.locals['principal'] = principal;
    next();
  };
}

/** Who an `Authorization` header's Bearer key belongs to; null when it names nobody (the API routes and the submit fast path). */
export function bearerPrincipal(auth: Authenticator, authorization: string | undefined): Principal | null {
  const credential = presentedCredential(authorization);
  return auth.authenticate(credential?.scheme === 'bearer' ? credential.secret : undefined);
}

/** The API's 401, with the challenge the client can answer. */
export function refuseUnauthenticated(res: ServerResponse): void {
  res.setHeader('WWW-Authenticate', 'Bearer');
  sendError(res, 'unauthorized', 'missing or invalid API key (Authorization: Bearer <key>)');
}

/**
 * For Bull Board: the admin key only, as a Bearer token or, since a browser cannot send one, as the
 * password of HTTP Basic auth (any user name). The Basic challenge makes the browser prompt for it.
 */
export function requireAdmin(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    const principal = auth.authenticate(presentedCredential(req.get('Authorization'))?.secret);
    if (principal?.admin === true) {
      res.locals['principal'] = principal;
      return next();
    }
    res.set('WWW-Authenticate', `Basic realm="${ADMIN_REALM}", charset="UTF-8"`);
    sendError(res, 'unauthorized', 'the admin key is required (HTTP Basic: any user name, the key as password)');
  };
}

/** Who the request acts for; set by `authenticate` or `requireAdmin`, which every route behind them passed. */
export function principalOf(res: Response): Principal {
  const principal: unknown = res.locals['principal'];
  if (typeof principal !== 'object' || principal === null) throw new Error('route is not behind authenticate()');
  return principal as Principal;
}
