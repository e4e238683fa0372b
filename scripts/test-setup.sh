#!/usr/bin/env bash
# Installs the real parts the test suite drives, when they are missing (a fresh machine):
# Debian's Chromium (browser tests) and PostgreSQL 15 server binaries (PostgreSQL tests).
# Idempotent and quiet when everything is already there.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "test-setup: missing ${missing[*]}; install them (as root: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "test-setup: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
