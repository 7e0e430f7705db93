#!/usr/bin/env bash
# The example clients (examples/*) against a real server: the dashboard and
# the overlay in Debian's Chromium, the bot as a Node.js process. Once on
# SQLite + in-process bus, then again on PostgreSQL + Redis when
# XPR_TEST_DATABASE_URL and XPR_TEST_REDIS_URL are set (as for the Rust
# tests). Screenshots, logs and consoles go to tests/browser/output/<backend>/.
# The server binary: $XPR_BIN, or ${CARGO_TARGET_DIR:-target}/debug/xpr
# (built here first).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${XPR_BIN:-}" ]; then
  # Always built: a binary left in a shared target dir may be stale.
  cargo build --quiet --bin xpr
  export XPR_BIN="${CARGO_TARGET_DIR:-target}/debug/xpr"
fi
case "$XPR_BIN" in /*) ;; *) XPR_BIN="$PWD/$XPR_BIN" ;; esac
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

start=$SECONDS
for dir in tests/browser examples/overlay examples/bot examples/dashboard; do
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
done
echo "npm ci: $((SECONDS - start)) s"
start=$SECONDS
(cd examples/overlay && npm run --silent build >/dev/null)
(cd examples/dashboard && npm run --silent build:ci >/dev/null)
echo "builds: $((SECONDS - start)) s"

start=$SECONDS
echo "== browser suite: SQLite + in-process bus"
env -u XPR_TEST_DATABASE_URL -u XPR_TEST_REDIS_URL XPR_BROWSER_OUT=tests/browser/output/sqlite \
  node --test tests/browser/
echo "SQLite suite: $((SECONDS - start)) s"
if [ -n "${XPR_TEST_DATABASE_URL:-}" ]; then
  start=$SECONDS
  echo "== browser suite: PostgreSQL + Redis"
  XPR_BROWSER_OUT=tests/browser/output/postgres node --test tests/browser/
  echo "PostgreSQL + Redis suite: $((SECONDS - start)) s"
fi
