/** The BullMQ queue that carries code jobs. API and workers must agree on it (and on the prefix). */
export const CODE_JOBS_QUEUE = 'code-jobs';
