import fc from 'fast-check';
import { CodeJobRequest, LegacyCodeRequest, MAX_PROMPT_CHARS } from './job-request.js';

/**
 * The request schemas are the API's edge: whatever a client sends, `safeParse` must answer with a result
 * (never throw), and what it lets through must be a well-formed request with nothing extra in it.
 */

const REPO = 'https://github.com/octo/hello';
const REQUEST_KEYS = new Set(['repo_url', 'prompt', 'agent', 'model', 'base_branch', 'draft', 'requested_by', 'max_cost_usd', 'max_tokens']);
const schemas = [
  ['CodeJobRequest', CodeJobRequest],
  ['LegacyCodeRequest', LegacyCodeRequest],
] as const;

/** Parses, failing the property on a throw; checks the invariants of an accepted request. */
function parseChecked(schema: (typeof schemas)[number][1], input: unknown): boolean {
  const result = schema.safeParse(input); // a throw here fails the property with it
  if (!result.success) {
    expect(result.error.issues.length).toBeGreaterThan(0);
    return false;
  }
  const request: Record<string, unknown> = result.data;
  expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
  expect(Object.keys(request).every((k) => REQUEST_KEYS.has(k))).toBe(true);
  expect(typeof request['repo_url']).toBe('string');
  const prompt = request['prompt'] as string;
  expect(prompt.length).toBeGreaterThan(0);
  expect(prompt.length).toBeLessThanOrEqual(MAX_PROMPT_CHARS);
  expect(prompt).toBe(prompt.trim());
  return true;
}

const hugeString = fc.integer({ min: 2_049, max: 200_000 }).map((n) => 'p'.repeat(n));
const deeplyNested = fc.integer({ min: 1, max: 5_000 }).map((depth) => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { nested: value };
  return value;
});
/** fast-check's `anything`: null-prototype objects, sparse arrays, boxed values, Maps, Dates, symbols, -0 and so on. */
const strangeValue = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});
const fieldValue = (right: fc.Arbitrary<unknown>) => fc.oneof(right, strangeValue, hugeString, deeplyNested);
const requestShaped = fc.record(
  {
    repo_url: fieldValue(fc.constant(REPO)),
    repoUrl: fieldValue(fc.constant(REPO)),
    prompt: fieldValue(fc.string({ minLength: 1 })),
    agent: fieldValue(fc.string({ maxLength: 70 })),
    model: fieldValue(fc.string({ maxLength: 130 })),
    base_branch: fieldValue(fc.string({ maxLength: 30 })),
    draft: fieldValue(fc.boolean()),
    requested_by: fieldValue(fc.string({ maxLength: 110 })),
    max_cost_usd: fieldValue(fc.double()),
    max_tokens: fieldValue(fc.oneof(fc.integer(), fc.double())),
  },
  { requiredKeys: [] },
);

describe.each(schemas)('%s, property-based', (_name, schema) => {
  it('answers any JSON value, however nested, with a result', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 8 }), deeplyNested), (value) => {
        parseChecked(schema, value);
      }),
      { numRuns: 40 },
    );
  });

  it('answers request-shaped objects with wrong types, huge strings and strange values with a result', () => {
    fc.assert(
      fc.property(requestShaped, (input) => {
        parseChecked(schema, input);
      }),
      { numRuns: 60 },
    );
  });

  it('never lets a prototype key through, and never touches Object.prototype', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__');
    const value = fc.oneof(fc.constant({ polluted: true }), fc.constant({ prototype: { polluted: true } }), fc.jsonValue({ maxDepth: 2 }));
    fc.assert(
      fc.property(key, value, fc.boolean(), (k, v, valid) => {
        // JSON.parse makes `__proto__` an own key, as express.json does; an object literal would not.
        const input: unknown = JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v)}${valid ? `,"repo_url":"${REPO}","prompt":"x"` : ''}}`);
        const accepted = parseChecked(schema, input);
        // The strict API schema refuses unknown keys; the legacy one drops them.
        if (schema === CodeJobRequest) expect(accepted).toBe(false);
        else expect(accepted).toBe(valid);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });
});
