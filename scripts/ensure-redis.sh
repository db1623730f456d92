#!/usr/bin/env bash
# Starts a local Redis when none answers at REDIS_URL (default redis://127.0.0.1:6379).
set -euo pipefail
url="${REDIS_URL:-redis://127.0.0.1:6379}"
if redis-cli -u "$url" ping >/dev/null 2>&1; then exit 0; fi
case "$url" in
  redis://127.0.0.1:6379*|redis://localhost:6379*) ;;
  *) echo "ensure-redis: no Redis answers at $url (not a local default address, so not starting one)" >&2; exit 1 ;;
esac
echo "ensure-redis: no Redis at $url; starting one on 127.0.0.1:6379"
mkdir -p /tmp/tinyb-redis
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir /tmp/tinyb-redis --logfile /tmp/tinyb-redis/redis.log
for _ in $(seq 1 50); do
  redis-cli -u "$url" ping >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "ensure-redis: Redis did not start; see /tmp/tinyb-redis/redis.log" >&2
exit 1
