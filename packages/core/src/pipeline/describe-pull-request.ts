import type { ChangedFile } from '../ports/git-host.js';
import { checksSection, checksWarning } from './checks-markdown.js';
import type { ChecksReport } from './run-checks-with-fixes.js';
import type { CodeJob } from './run-code-job.js';

const TITLE_MAX_CHARS = 72;
const SUMMARY_MAX_CHARS = 8_000;

/** Title, body and commit message of a job's pull request. Built only from the prompt, the agent's summary and paths, never from config; the agent may still have put a secret in its summary, so the pipeline redacts the result. */
export function describePullRequest(job: CodeJob, summary: string, files: Pick<ChangedFile, 'path' | 'change'>[], checks?: ChecksReport) {
  const firstLine = job.data.prompt.split('\n', 1)[0]!.trim();
  const title = firstLine.length > TITLE_MAX_CHARS ? `${firstLine.slice(0, TITLE_MAX_CHARS - 1)}…` : firstLine;
  const fileList = files.map((f) => `- \`${f.path}\` (${f.change})`).join('\n');
  const trimmedSummary = summary.trim().slice(0, SUMMARY_MAX_CHARS) || '_The agent gave no summary._';
  const warning = checks === undefined ? undefined : checksWarning(checks);
  const body = [
    ...(warning === undefined ? [] : [warning, '']),
    '## Summary',
    trimmedSummary,
    '',
    '## Files changed',
    fileList,
    '',
    ...(checks === undefined ? [] : [checksSection(checks), '']),
    '## Prompt',
    quote(job.data.prompt.slice(0, SUMMARY_MAX_CHARS)),
    '',
    // Outside the quoted prompt, so GitHub links the issue and closes it when the pull request is merged.
    ...(job.data.fixesIssue === undefined ? [] : [`Fixes #${job.data.fixesIssue}`, '']),
    `---\nOpened by Tiny Backspace (agent \`${job.data.agent}\`), job \`${job.id}\`` +
      (job.data.requestedBy ? `, requested by ${job.data.requestedBy}.` : '.'),
  ].join('\n');
  const commitMessage = `${title}\n\n${trimmedSummary}\n\nTiny-Backspace-Job: ${job.id}`;
  return { title, body, commitMessage };
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}
