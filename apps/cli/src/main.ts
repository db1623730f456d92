import { parseArgs } from 'node:util';
import { ApiError, TinyBackspaceClient } from '@tinyb/client';
import { formatEvent } from './format-event.js';

const USAGE = `tinyb: submit prompts to Tiny Backspace and follow them.

Usage:
  tinyb submit --repo <url> --prompt <text> [--agent <name>] [--model <m>] [--base <branch>] [--draft] [--detach]
  tinyb follow <job-id> [--after <event-id>]
  tinyb status <job-id>
  tinyb cancel <job-id>

Options:
  --url <api>     API base URL (default $TINYB_URL or http://localhost:8000)
  --token <t>     API token (default $TINYB_TOKEN)
  --json          print raw JSON (status, follow)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      repo: { type: 'string' },
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
  const apiToken = values.token ?? process.env['TINYB_TOKEN'];
  const client = new TinyBackspaceClient({
    baseUrl: values.url ?? process.env['TINYB_URL'] ?? 'http://localhost:8000',
    ...(apiToken ? { apiToken } : {}),
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
      if (!values.repo || !values.prompt) {
        process.stderr.write('tinyb submit needs --repo and --prompt\n');
        return 2;
      }
      const job = await client.submit({
        repo_url: values.repo,
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
