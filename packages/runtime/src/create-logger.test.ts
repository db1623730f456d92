import { Redactor } from '@tinyb/core';
import { createLogger } from './create-logger.js';

const CANARY = 'canary-Vv7pQ2mZ9rT4wX1y';
const GITHUB_SHAPED = `ghs_${'Zq81xv0Lm3Pk7Rt2'.repeat(3)}`;

function recordingLogger() {
  const lines: string[] = [];
  const redactor = new Redactor();
  redactor.add(CANARY);
  const logger = createLogger({ name: 'test', level: 'debug', redactor, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines };
}

describe('createLogger with a redactor', () => {
  it('prints no registered secret from the message, fields, bindings, or an error\'s message and stack', () => {
    const { logger, lines } = recordingLogger();
    const err = new Error(`request failed with key ${CANARY}`);
    const child = logger.child({ jobId: 'job-1', url: `https://h/?key=${CANARY}` }).child({ step: 'clone' });

    logger.info({}, `message with ${CANARY}`);
    logger.warn({ output: `KEY=${CANARY}`, nested: { list: [CANARY], headers: { 'x-custom': CANARY } } }, 'field');
    logger.error({ err }, 'failed');
    child.error(err, 'error as the first argument');
    child.debug({ token: GITHUB_SHAPED, text: `found ${GITHUB_SHAPED} in output` }, 'shape');

    expect(lines).toHaveLength(5);
    const all = lines.join('');
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain(GITHUB_SHAPED);
    // The lines are still JSON, and say where something was removed.
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ msg: 'message with [REDACTED:secret]' });
    expect(parsed[1]).toMatchObject({ output: 'KEY=[REDACTED:secret]', nested: { list: ['[REDACTED:secret]'] } });
    expect(parsed[2]).toMatchObject({ err: { message: 'request failed with key [REDACTED:secret]', stack: expect.stringContaining('Error: request failed with key [REDACTED:secret]') } });
    expect(parsed[3]).toMatchObject({ jobId: 'job-1', step: 'clone', url: 'https://h/?key=[REDACTED:secret]' });
    expect(parsed[4]).toMatchObject({ text: 'found [REDACTED:github] in output' });
  });

  it('redacts secrets registered after the logger was made (per-job tokens)', () => {
    const { logger, lines } = recordingLogger();
    const redactor = new Redactor();
    const late = createLogger({ name: 'late', redactor, destination: { write: (line: string) => void lines.push(line) } });
    const perJob = 'per-job-token-Jk3Lm9Qw2Er5';
    late.info({ perJob }, 'before');
    redactor.add(perJob);
    late.info({ perJob }, 'after');
    logger.info({}, 'unrelated');
    expect(lines[0]).toContain(perJob);
    expect(lines[1]).not.toContain(perJob);
  });

  it('writes lines unchanged without a redactor', () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'plain', destination: { write: (line: string) => void lines.push(line) } });
    logger.info({ value: CANARY }, 'plain');
    expect(JSON.parse(lines[0]!)).toMatchObject({ value: CANARY, msg: 'plain' });
  });
});
