import type { ChainableCommander } from 'ioredis';

/**
 * The two Lua scripts around BullMQ's own add in the one-round-trip enqueue (CodeJobQueue.enqueue):
 *
 *   MULTI  gate → BullMQ addStandardJob → announce  EXEC
 *
 * A MULTI cannot branch and BullMQ's add is a script we cannot call from ours, so the branch is made with
 * BullMQ's documented rule that adding a job whose id exists is a no-op: when the gate says no (the
 * idempotency key is another job's, or the job's event keys cannot take the event), it plants a tombstone
 * hash at the new job's key, the add then does nothing, and `announce` removes the tombstone. When the gate
 * says yes it leaves a go-ahead marker; `announce` writes `job.queued` only if the marker is there and the
 * add really created the job, and otherwise gives the idempotency key back. No other client sees anything in
 * between (MULTI), so a job is never queued without `job.queued` nor announced without being queued.
 */

/** KEYS: jobKey, marker, eventsKey, statusKey[, idempotencyKey]. ARGV: jobId, idempotencyTtlMs. */
const GATE_LUA = `
local jobKey, marker, eventsKey, statusKey, idemKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local jobId = ARGV[1]
if redis.call('EXISTS', jobKey) == 1 then
  -- A caller-chosen id that is already a job: the add will be a duplicate; nothing to announce.
  return {0, jobId}
end
local eventsType = redis.call('TYPE', eventsKey)['ok']
local statusType = redis.call('TYPE', statusKey)['ok']
if (eventsType ~= 'none' and eventsType ~= 'stream') or (statusType ~= 'none' and statusType ~= 'hash') then
  redis.call('HSET', jobKey, 'tinybTombstone', '1')
  return {2, 'the job event keys hold something else'}
end
if idemKey then
  if not redis.call('SET', idemKey, jobId, 'PX', ARGV[2], 'NX') then
    redis.call('HSET', jobKey, 'tinybTombstone', '1')
    return {0, redis.call('GET', idemKey)}
  end
end
redis.call('SET', marker, '1', 'PX', 60000)
return {1, jobId}
`;

/**
 * KEYS: jobKey, marker, idempotencyKey or '', then the event's keys. ARGV: jobId, the event's commands as JSON.
 * Returns the event's stream id, or false when nothing was announced.
 */
const ANNOUNCE_LUA = `
local jobKey, marker, idemKey = KEYS[1], KEYS[2], KEYS[3]
if redis.call('DEL', marker) == 0 then
  if redis.call('HEXISTS', jobKey, 'tinybTombstone') == 1 then redis.call('DEL', jobKey) end
  return false
end
if redis.call('EXISTS', jobKey) == 0 then
  -- The add failed: free the idempotency key so the client's retry can create the job.
  if idemKey ~= '' and redis.call('GET', idemKey) == ARGV[1] then redis.call('DEL', idemKey) end
  return false
end
local id = false
for i, command in ipairs(cjson.decode(ARGV[2])) do
  local reply = redis.call(unpack(command))
  if i == 1 then id = reply end
end
return id
`;

export const ENQUEUE_GATE = 'tinybEnqueueGate';
export const ENQUEUE_ANNOUNCE = 'tinybEnqueueAnnounce';

/** The scripts, for `defineCommand` (numberOfKeys omitted: the caller passes it, the key lists vary). */
export const enqueueScripts: Record<string, { lua: string }> = {
  [ENQUEUE_GATE]: { lua: GATE_LUA },
  [ENQUEUE_ANNOUNCE]: { lua: ANNOUNCE_LUA },
};

/** A transaction that knows the commands defined from `enqueueScripts`. */
export type EnqueueTransaction = ChainableCommander & {
  [ENQUEUE_GATE](numKeys: number, ...keysAndArgs: string[]): EnqueueTransaction;
  [ENQUEUE_ANNOUNCE](numKeys: number, ...keysAndArgs: string[]): EnqueueTransaction;
};
