export { RedisJobEvents, type RedisJobEventsDeps } from './redis-job-events.js';
export { InMemoryJobEvents } from './in-memory-job-events.js';
export { parseStreamId, compareStreamIds, type StreamIdParts } from './stream-id.js';
export { jobEventKeys, jobIndexKeys } from './job-event-keys.js';
export { RedisJobDirectory, type RedisJobDirectoryDeps } from './redis-job-directory.js';
export type { StagedEventWriter, StagedWrites } from './staged-writes.js';
export { JobEventFanout, type JobEventFanoutDeps, type JobEventLog, type JobLogEntry, type AnnouncedLogEntry, type FanoutSink } from './job-event-fanout.js';
