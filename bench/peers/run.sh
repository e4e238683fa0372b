#!/usr/bin/env bash
# The peer benchmark on its own (Better Auth and the bare node:http ceilings; `npm run bench` at the
# repository root adds Sesame's rows): install its dependencies, run it, print the results table.
#
#   ./run.sh                       # all workloads, 3 reps x (3 s warm-up + 10 s timed), 50 connections
#   ./run.sh --only send-otp,verify-otp --reps 1
#   PEERS_WORKDIR=/tmp/elsewhere ./run.sh
#
# The sources next to this script are copied into a work directory (default /tmp/peers) and
# installed there with `npm ci`, so node_modules, SQLite files and results never land in the
# folder this script lives in. All traffic stays on 127.0.0.1; every run is bounded in time.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${PEERS_WORKDIR:-/tmp/peers}"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then echo "node >= 20 required (found $(node -v))" >&2; exit 1; fi

mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
if [ "$SRC" != "$WORK" ]; then
  echo "peers-bench: copying sources $SRC -> $WORK" >&2
  rm -rf "$WORK/servers" "$WORK/harness"
  cp -R "$SRC/servers" "$SRC/harness" "$WORK/"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/run.sh" "$WORK/"
fi
cd "$WORK"

# Install exactly what package-lock.json pins; skip when node_modules already matches it.
# Without a reachable prebuilt binary, better-sqlite3 compiles from source (~2 min, needs
# python3, make, g++); package.json's "allowScripts" approves its install script for npm 11.
stamp="node_modules/.peers-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)-$(node -v)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "peers-bench: npm ci (this compiles better-sqlite3, ~2 min)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi
if ! node -e "new (require('better-sqlite3'))(':memory:').close()" 2>/dev/null; then
  echo "peers-bench: better-sqlite3 native module missing, rebuilding" >&2
  npm rebuild better-sqlite3 >&2
fi

exec node harness/run-all.mjs "$@"
