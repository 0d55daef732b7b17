#!/usr/bin/env bash
# Installs what extcron needs on a Debian machine, and nothing when all of it
# is present. "setup.sh run" checks what `make run` needs; "setup.sh test"
# also what the tests need (Chromium, the Playwright package).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

say() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing $* (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
    say "Go is not installed: install Go 1.26 (https://go.dev/dl) and run again"; exit 1
  fi
fi

have_postgres() {
  local d
  d="$(pg_config --bindir 2>/dev/null || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}
if ! have_postgres; then
  apt_install postgresql
fi

if [ "$mode" = "test" ]; then
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ ! -d node_modules/@playwright/test ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing node modules (npm ci)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  fi
fi

if ! go list -m all >/dev/null 2>&1; then
  say "downloading Go modules"
  go mod download
fi
