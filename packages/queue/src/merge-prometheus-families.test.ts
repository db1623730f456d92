import { mergePrometheusFamilies } from './merge-prometheus-families.js';

const exposition = (queue: string, waiting: number) =>
  [
    '# HELP bullmq_job_count Number of jobs in the queue by state',
    '# TYPE bullmq_job_count gauge',
    `bullmq_job_count{queue="${queue}", state="waiting"} ${waiting}`,
    `bullmq_job_count{queue="${queue}", state="active"} 0`,
    '# HELP bullmq_job_completed_total Total number of completed jobs',
    '# TYPE bullmq_job_completed_total counter',
    `bullmq_job_completed_total{queue="${queue}"} 7`,
  ].join('\n');

describe('mergePrometheusFamilies', () => {
  it('lists each family once, with the samples of every exposition under it', () => {
    const merged = mergePrometheusFamilies([exposition('code.claude-code', 2), exposition('code.gemini', 5)]).split('\n');
    expect(merged).toEqual([
      '# HELP bullmq_job_count Number of jobs in the queue by state',
      '# TYPE bullmq_job_count gauge',
      'bullmq_job_count{queue="code.claude-code", state="waiting"} 2',
      'bullmq_job_count{queue="code.claude-code", state="active"} 0',
      'bullmq_job_count{queue="code.gemini", state="waiting"} 5',
      'bullmq_job_count{queue="code.gemini", state="active"} 0',
      '# HELP bullmq_job_completed_total Total number of completed jobs',
      '# TYPE bullmq_job_completed_total counter',
      'bullmq_job_completed_total{queue="code.claude-code"} 7',
      'bullmq_job_completed_total{queue="code.gemini"} 7',
    ]);
  });

  it('keeps a lone exposition as it is, and an empty list empty', () => {
    expect(mergePrometheusFamilies([exposition('q', 1)])).toBe(exposition('q', 1));
    expect(mergePrometheusFamilies([])).toBe('');
  });
});
