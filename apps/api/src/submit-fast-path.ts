import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '@tinyb/auth';
import { CodeJobRequest } from '@tinyb/contracts';
import type { Logger } from '@tinyb/core';
import { bearerPrincipal, refuseUnauthenticated } from './authenticate.js';
import { sendRequestError } from './http-errors.js';
import type { JobSubmission } from './job-submission.js';
import { parseBody } from './request-input.js';

export interface SubmitFastPathDeps {
  auth: Authenticator;
  submission: JobSubmission;
  logger: Logger;
  /** The JSON body limit of the Express app: a larger body is left to it (it answers 413). */
  maxBodyBytes: number;
}

/** `application/json` with no charset or UTF-8's: what Express's JSON parser would read as UTF-8. */
const JSON_UTF8 = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;
const DECIMAL = /^\d{1,9}$/;

/**
 * `POST /api/jobs` served straight from node:http, in front of the Express app (whose router, JSON body parser
 * and per-request prototype swaps were a fifth of a submit's CPU), for the plain case only: the exact path, a
 * JSON body in UTF-8 with a Content-Length within the limit and no Content-Encoding. Anything else returns false
 * before a byte of the body is read, and Express serves it as before.
 *
 * It answers exactly as the Express route does, because it is made of the same pieces in the same order: the
 * body parsed as body-parser's strict mode parses it, then the Bearer key (`bearerPrincipal`), the schema
 * (`parseBody`), the submission (`JobSubmission.accept`: admission, idempotency, tracing, metrics, the answer)
 * and, for any refusal, the one error mapping (`sendRequestError`).
 */
export function submitFastPath(deps: SubmitFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { auth, submission, logger, maxBodyBytes } = deps;
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/jobs') return false;
    const { headers } = req;
    const contentType = headers['content-type'];
    const contentLength = headers['content-length'];
    if (contentType === undefined || !JSON_UTF8.test(contentType)) return false;
    if (contentLength === undefined || !DECIMAL.test(contentLength) || Number(contentLength) > maxBodyBytes) return false;
    if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return false;

    // Node's parser holds the body to Content-Length, so no limit needs counting here.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // An aborted upload has nobody left to answer.
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      let json: unknown;
      try {
        json = parseStrictJson(text);
      } catch (err) {
        return sendRequestError(res, err, logger);
      }
      // Authenticated after the body is parsed, as in the Express app (its JSON parser runs before the API router).
      const principal = bearerPrincipal(auth, headers.authorization);
      if (principal === null) return refuseUnauthenticated(res);
      let body: CodeJobRequest;
      try {
        body = parseBody(CodeJobRequest, json);
      } catch (err) {
        return sendRequestError(res, err, logger);
      }
      const idempotencyKey = headers['idempotency-key'];
      submission
        .accept({ principal, body, idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined, res })
        .catch((err: unknown) => sendRequestError(res, err, logger));
    });
    return true;
  };
}

/**
 * JSON as express.json({ strict: true }) reads it: an empty body is `{}`, a leading byte-order mark is dropped,
 * and the top level must be an object or an array. A refusal carries body-parser's `type`, so the one error
 * mapping answers it as it answers Express's.
 */
function parseStrictJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/.exec(body)?.[1];
  if (first !== '{' && first !== '[') throw notJson();
  try {
    return JSON.parse(body);
  } catch {
    throw notJson();
  }
}

function notJson(): Error {
  return Object.assign(new SyntaxError('request body is not valid JSON'), { type: 'entity.parse.failed', status: 400 });
}
