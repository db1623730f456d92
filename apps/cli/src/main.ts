import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiError, TinyBackspaceClient } from '@tinyb/client';
import { JobState } from '@tinyb/contracts';
import { formatEvent } from './format-event.js';
import { formatJobList } from './format-job-list.js';

const USAGE = `tinyb: submit prompts to Tiny Backspace and follow them.

Usage:
  tinyb submit --repo <url> --prompt <text> [--agent <name>] [--model <m>] [--base <branch>] [--draft] [--detach]
  tinyb submit --pr <pull-request-url> --prompt <text> [--agent <name>] [--model <m>] [--detach]
  tinyb submit --parent <job-id> --prompt <text> ...   (a follow-up on that job's pull request)
  tinyb follow <job-id> [--after <event-id>]
  tinyb status <job-id>
  tinyb cancel <job-id>
  tinyb list [--state <queued|running|succeeded|failed|cancelled>] [--limit <n>] [--cursor <c>]
  tinyb hash-key [<key>]      print the SHA-256 for API_KEYS (reads the key from stdin when not given)

Options:
  --url <api>       API base URL (default $TINYB_URL or http://localhost:8000)
  --api-key <key>   your API key (default $TINYB_API_KEY; --token and $TINYB_TOKEN still work)
  --json            print raw JSON (status, follow, list)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'api-key': { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      repo: { type: 'string' },
      pr: { type: 'string' },
      parent: { type: 'string' },
      prompt: { type: 'string' },
      agent: { type: 'string' },
      model: { type: 'string' },
      base: { type: 'string' },
      draft: { type: 'boolean' },
      detach: { type: 'boolean' },
      after: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, jobId] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (command === 'hash-key') {
    // The key from the argument, or stdin (so it stays out of the shell history); one trailing newline dropped.
    const key = jobId ?? readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (key === '') {
      process.stderr.write('tinyb hash-key needs a key (argument or stdin)\n');
      return 2;
    }
    process.stdout.write(`${createHash('sha256').update(key, 'utf8').digest('hex')}\n`);
    return 0;
  }
  const apiKey = values['api-key'] ?? values.token ?? process.env['TINYB_API_KEY'] ?? process.env['TINYB_TOKEN'];
  const client = new TinyBackspaceClient({
    baseUrl: values.url ?? process.env['TINYB_URL'] ?? 'http://localhost:8000',
    ...(apiKey ? { apiKey } : {}),
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());

  const follow = async (id: string, afterId?: string): Promise<number> => {
    let exitCode = 1;
    for await (const { event } of client.events(id, { signal: controller.signal, ...(afterId ? { afterId } : {}) })) {
      process.stdout.write(`${values.json ? JSON.stringify(event) : formatEvent(event)}\n`);
      if (event.type === 'job.succeeded') exitCode = 0;
    }
    return exitCode;
  };

  switch (command) {
    case 'submit': {
      if ((!values.repo && !values.pr && !values.parent) || !values.prompt) {
        process.stderr.write('tinyb submit needs --repo (or --pr, or --parent for a follow-up) and --prompt\n');
        return 2;
      }
      const job = await client.submit({
        ...(values.repo ? { repo_url: values.repo } : {}),
        ...(values.pr ? { pr_url: values.pr } : {}),
        ...(values.parent ? { parent_job_id: values.parent } : {}),
        prompt: values.prompt,
        ...(values.agent ? { agent: values.agent } : {}),
        ...(values.model ? { model: values.model } : {}),
        ...(values.base ? { base_branch: values.base } : {}),
        ...(values.draft ? { draft: true } : {}),
      });
      process.stdout.write(`job ${job.id}\n`);
      return values.detach ? 0 : follow(job.id);
    }
    case 'follow':
      if (!jobId) break;
      return follow(jobId, values.after);
    case 'status':
      if (!jobId) break;
      process.stdout.write(`${JSON.stringify(await client.status(jobId), null, values.json ? 0 : 2)}\n`);
      return 0;
    case 'list': {
      const state = values.state === undefined ? undefined : JobState.safeParse(values.state);
      if (state && !state.success) {
        process.stderr.write(`--state must be one of ${JobState.options.join(', ')}\n`);
        return 2;
      }
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        process.stderr.write('--limit must be a positive integer\n');
        return 2;
      }
      const page = await client.listJobs({
        ...(state?.data ? { state: state.data } : {}),
        ...(limit === undefined ? {} : { limit }),
        ...(values.cursor ? { cursor: values.cursor } : {}),
      });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(page)}\n`);
        return 0;
      }
      process.stdout.write(page.jobs.length === 0 ? 'no jobs\n' : `${formatJobList(page.jobs)}\n`);
      if (page.next_cursor) process.stdout.write(`more: tinyb list --cursor ${page.next_cursor}\n`);
      return 0;
    }
    case 'cancel':
      if (!jobId) break;
      process.stdout.write(`${(await client.cancel(jobId)).status}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command '${command}'\n${USAGE}`);
      return 2;
  }
  process.stderr.write(`tinyb ${command} needs a job id\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(err instanceof ApiError ? `error: ${err.code}: ${err.message}\n` : `error: ${String(err)}\n`);
    process.exit(1);
  },
);
