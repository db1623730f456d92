import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './http-errors.js';

/** Bearer-token auth when a token is configured; compared in constant time. No token: open. */
export function requireToken(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, res, next) => {
    const given = Buffer.from(req.get('Authorization') ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    sendError(res, 'unauthorized', 'missing or invalid Authorization: Bearer token');
  };
}
