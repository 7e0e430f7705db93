#!/usr/bin/env bash
# The example clients (examples/*) in Debian's Chromium against a real
# server: once on SQLite + in-process bus, then again on PostgreSQL + Redis
# when XPR_TEST_DATABASE_URL and XPR_TEST_REDIS_URL are set (as for the Rust
# tests). Screenshots, server logs and consoles go to tests/browser/output/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${XPR_BIN:-}" ]; then
  cargo build --quiet --bin xpr
  export XPR_BIN="${CARGO_TARGET_DIR:-target}/debug/xpr"
fi
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
for dir in tests/browser examples/dashboard; do
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
done

echo "== browser suite: SQLite + in-process bus"
env -u XPR_TEST_DATABASE_URL -u XPR_TEST_REDIS_URL XPR_BROWSER_OUT=tests/browser/output/sqlite \
  node --test tests/browser/*.test.mjs
if [ -n "${XPR_TEST_DATABASE_URL:-}" ]; then
  echo "== browser suite: PostgreSQL + Redis"
  XPR_BROWSER_OUT=tests/browser/output/postgres node --test tests/browser/*.test.mjs
fi
