import { JobState, type JobSummary } from '@tinyb/contracts';
import { useEffect, useState } from 'preact/hooks';
import { describeError, type ConsoleApi } from './console-api.js';
import { formatAge, repoName, safeHref } from './format.js';
import { Link } from './link.js';
import { jobPath } from './route.js';
import { StateBadge } from './state-badge.js';
import { SubmitForm } from './submit-form.js';

const POLL_MS = 3_000;

/** `/ui/`: the submit form and the caller's recent jobs, refreshed every few seconds while the tab is visible. */
export function JobsPage(props: { api: ConsoleApi }) {
  const { api } = props;
  const [filter, setFilter] = useState<JobState | ''>('');
  const [jobs, setJobs] = useState<JobSummary[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      clearTimeout(timer);
      if (document.visibilityState === 'visible') {
        try {
          const page = await api.listJobs(filter || undefined, controller.signal);
          setJobs(page.jobs);
          setError(undefined);
        } catch (err) {
          if (controller.signal.aborted) return;
          setError(describeError(err));
        }
        setNow(Date.now());
      }
      if (!controller.signal.aborted) timer = setTimeout(refresh, POLL_MS);
    };
    const onVisible = () => document.visibilityState === 'visible' && void refresh();
    document.addEventListener('visibilitychange', onVisible);
    void refresh();
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [api, filter]);

  return (
    <div class="jobs-page">
      <SubmitForm api={api} />
      <section class="card">
        <div class="section-head">
          <h2>Recent jobs</h2>
          <label>
            State{' '}
            <select name="stateFilter" value={filter} onChange={(e) => setFilter(e.currentTarget.value as JobState | '')}>
              <option value="">all</option>
              {JobState.options.map((state) => (
                <option value={state}>{state}</option>
              ))}
            </select>
          </label>
        </div>
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {jobs === undefined ? (
          <p class="muted">Loading…</p>
        ) : jobs.length === 0 ? (
          <p class="muted">No jobs{filter ? ` ${filter}` : ''} yet.</p>
        ) : (
          <table class="jobs">
            <thead>
              <tr>
                <th>State</th>
                <th>Job</th>
                <th>Agent</th>
                <th>Repository</th>
                <th>Age</th>
                <th>Pull request</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <JobRow key={job.id} job={job} now={now} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function JobRow({ job, now }: { job: JobSummary; now: number }) {
  const prHref = safeHref(job.prUrl);
  return (
    <tr data-job-id={job.id}>
      <td>
        <StateBadge state={job.state} />
      </td>
      <td>
        <Link href={jobPath(job.id)} class="mono">
          {job.id}
        </Link>
      </td>
      <td>{job.agent}</td>
      <td title={job.repoUrl}>{repoName(job.repoUrl)}</td>
      <td title={job.createdAt}>{formatAge(job.createdAt, now)}</td>
      <td>
        {prHref ? (
          <a href={prHref} target="_blank" rel="noopener noreferrer" class="pr-link">
            {prLabel(prHref)}
          </a>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
    </tr>
  );
}

function prLabel(url: string): string {
  const number = /\/pull\/(\d+)/.exec(url)?.[1];
  return number ? `#${number}` : 'open';
}
