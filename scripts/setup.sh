#!/usr/bin/env bash
# Installs what Tiny Backspace needs on a fresh Debian/Ubuntu machine with Node 20:
# git, bubblewrap and socat (the local sandbox), redis-server when no Redis answers, chromium (the web console's
# browser tests), pnpm 12.4.2, the workspace's packages (including the Claude Code CLI) from the lockfile, and
# the web console's build (apps/web/dist, served by the API under /ui/). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# The sandboxes' only way out: a relay from their own loopback to the worker's Unix sockets.
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v tar >/dev/null 2>&1 || missing+=(tar)
if ! command -v redis-server >/dev/null 2>&1 && ! command -v redis-cli >/dev/null 2>&1; then missing+=(redis-server); fi
# The web console's tests drive a real browser: Debian's chromium (playwright-core never downloads one).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi

pnpm install --frozen-lockfile
pnpm --filter @tinyb/web build
