import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

/**
 * The one-script enqueue (CodeJobQueue.enqueue on a single Redis): the idempotency key, BullMQ's add and
 * `job.queued` (with its status and indexes) in one Lua script, so one EVALSHA per submit. A script can
 * branch, and runs alone on the server: a job is never queued without `job.queued`, nor announced without
 * being queued, and a replayed idempotency key or an existing job id writes nothing.
 *
 * BullMQ's add is BullMQ's own script, taken from the installed package and wrapped as a Lua function, so
 * the job is stored exactly as `queue.add` stores it (its version is the lockfile's; the queue's tests run
 * real BullMQ workers on jobs added this way). Its arguments are the ones BullMQ builds for `queue.add`
 * (see CodeJobQueue.bullmqAddArgs).
 */

const requireFromHere = createRequire(import.meta.url);
// BullMQ ships each script, its includes resolved, as a module of its own ("-9": it takes nine keys).
const { addStandardJob } = requireFromHere('bullmq/dist/cjs/scripts/addStandardJob-9.js') as {
  addStandardJob: { name: string; content: string; keys: number };
};

/** How many keys BullMQ's add takes: the first KEYS of ours. */
export const BULLMQ_ADD_KEYS = addStandardJob.keys;

/**
 * KEYS: BullMQ's add keys (BULLMQ_ADD_KEYS of them), the job's key, every key the event's commands name, then
 * the idempotency key when ARGV[2] is not ''.
 * ARGV: jobId, the idempotency key's TTL in ms or '', the event's commands as JSON (`[command, key, ...args]`,
 * the first one's reply being the stream id), then BullMQ's add ARGV.
 *
 * Returns {1, streamId} when the job was queued and announced; {0, jobId} when the idempotency key or the job
 * id is an existing job's (nothing written); {2, reason} when a key the event writes holds another type, or
 * BullMQ refused the add (nothing written); {3, error} when the event could not be written after the add
 * (which the type check leaves no known way to reach): the caller takes the job back.
 */
const ENQUEUE_LUA = `
local function bullmqAddStandardJob(KEYS, ARGV)
${addStandardJob.content}
end

local bullKeys = {}
for i = 1, ${addStandardJob.keys} do bullKeys[i] = KEYS[i] end
local jobKey = KEYS[${addStandardJob.keys + 1}]
local jobId, idemTtl = ARGV[1], ARGV[2]
local idemKey = false
if idemTtl ~= '' then idemKey = KEYS[#KEYS] end
local eventCommands = cjson.decode(ARGV[3])

if idemKey then
  local existing = redis.call('GET', idemKey)
  if existing then return {0, existing} end
end
if redis.call('EXISTS', jobKey) == 1 then
  -- A caller-chosen id that is already a job: nothing to add or announce.
  return {0, jobId}
end
-- Every key the event writes must take its command, so that nothing can fail once the add is done
-- (an out-of-memory refusal comes at a script's first write, BullMQ's, before anything is written).
local keyTypes = {xadd = 'stream', hset = 'hash', zadd = 'zset', zrem = 'zset', zremrangebylex = 'zset'}
local checked = {}
for _, command in ipairs(eventCommands) do
  local wanted, key = keyTypes[string.lower(command[1])], command[2]
  if wanted and not checked[key] then
    checked[key] = true
    local found = redis.call('TYPE', key)['ok']
    if found ~= 'none' and found ~= wanted then return {2, 'a job event key holds a ' .. found .. ', not a ' .. wanted} end
  end
end

local added = bullmqAddStandardJob(bullKeys, {ARGV[4], ARGV[5], ARGV[6]})
if type(added) == 'number' then return {2, 'BullMQ refused the add: ' .. added} end
if idemKey then redis.call('SET', idemKey, jobId, 'PX', idemTtl) end

local streamId = false
for i, command in ipairs(eventCommands) do
  local reply = redis.pcall(unpack(command))
  if type(reply) == 'table' and reply['err'] then return {3, reply['err']} end
  if i == 1 then streamId = reply end
end
return {1, streamId}
`;

export const ENQUEUE_COMMAND = 'tinybEnqueue';

/** Defines the enqueue script on `redis` (numberOfKeys omitted: the caller passes it, the key lists vary). */
export function defineEnqueueCommand(redis: Pick<Redis, 'defineCommand'>): void {
  redis.defineCommand(ENQUEUE_COMMAND, { lua: ENQUEUE_LUA });
}

/** The script's reply: see ENQUEUE_LUA. */
export type EnqueueReply = [1, string] | [0, string] | [2, string] | [3, string];

/** A connection on which `defineEnqueueCommand` ran. */
export type EnqueueClient = {
  [ENQUEUE_COMMAND](numKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<EnqueueReply>;
};
