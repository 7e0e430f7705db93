#!/usr/bin/env bash
# The benchmark, end to end: `bash bench/run.sh [--quick]`.
# Builds the release binaries, creates a dataset in a fresh PostgreSQL
# database (`xpr_bench`), starts the server (and a second one sharing Redis,
# and PostGraphile 4 on the same database), runs the scenarios and writes
# bench/results/<mode>.md and bench/results/<mode>.json.
# Needs PostgreSQL, Redis, Node.js with npm, psql; see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
[[ "${1:-}" == "--quick" ]] && MODE=quick
if [[ $MODE == quick ]]; then
  USERS=200 ENTRIES=1000 REVISIONS=3 REVIEWS=5000 LONG_HISTORY=10000 DURATION=5 ROUNDS=2 REPEAT=3
  # Fan-out: idle sockets (over FAN_PROCS + 1 processes), subscribers per event, sustained rate.
  IDLE=2000 SUBSCRIBERS=1000 FAN_PROCS=1 RATE=200 SUSTAIN_SECS=10
else
  USERS=1000 ENTRIES=10000 REVISIONS=10 REVIEWS=50000 LONG_HISTORY=10000 DURATION=15 ROUNDS=3 REPEAT=5
  # A process may hold 20,000 descriptors here (ulimit -Hn): 20,000 sockets take two, 50,000 three.
  # Sustained for 4 minutes: the servers' memory grows while 20,000 fresh sockets and the
  # allocator warm up (about 2.5 minutes here), so the last 2 minutes show whether it is flat.
  IDLE=50000 SUBSCRIBERS=20000 FAN_PROCS=2 RATE=2000 SUSTAIN_SECS=240
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xpr-target}"
WORK="${XPR_BENCH_DIR:-$HOME/.cache/xpr-bench}"
PG="${XPR_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
REDIS="${XPR_BENCH_REDIS:-redis://127.0.0.1:6379}"
DB="$PG/xpr_bench"
OUT=bench/results
RESULTS="$WORK/results.jsonl"
PASSWORD="benchmark password 42"
PORT1=18080 PORT2=18081 PORT3=18082 PEER_PORT=15050
URL1="http://127.0.0.1:$PORT1" URL2="http://127.0.0.1:$PORT2" URL3="http://127.0.0.1:$PORT3" PEER="http://127.0.0.1:$PEER_PORT"
mkdir -p "$WORK" "$OUT"
rm -rf "$WORK/data" "$RESULTS"
# Sockets on both sides of loopback: as many descriptors as a process may have.
ulimit -n "$(ulimit -Hn)"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
step() { echo "== $(date +%T) $*"; }
wait_ready() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return; sleep 0.2; done; echo "$1 not ready" >&2; exit 1; }

step "build (release)"
cargo build --release -q -p xpr-api -p xpr-bench
XPR="$CARGO_TARGET_DIR/release/xpr"
BENCH="$CARGO_TARGET_DIR/release/xpr-bench"

step "services and database"
pg_isready -q -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS xpr_bench WITH (FORCE)" -c "CREATE DATABASE xpr_bench"
redis-cli --scan --pattern 'xprbench*' | xargs -r redis-cli del >/dev/null

# Plain TCP on loopback, as PostGraphile (node-postgres) connects by default. Limits are
# raised for the load, and trust so that the merge scenario's author keeps needing review.
export DATABASE_URL="$DB?sslmode=disable" REDIS_URL="$REDIS" XPR_REDIS_PREFIX=xprbench XPR_DATA_DIR="$WORK/data" \
  XPR_JWT_SECRET="benchmark-secret-benchmark-secret-0123456789" XPR_LOG_FORMAT=json RUST_LOG=warn \
  XPR_RATE_LIMIT_PER_ACCOUNT=1000000 XPR_RATE_LIMIT_PER_ADDRESS=1000000 XPR_COST_BUDGET=1000000000000 XPR_WS_MAX_CONNECTIONS_PER_USER=1000 XPR_WS_PING_SECS=10 \
  XPR_MAX_OPEN_SUBMISSIONS=100000 XPR_SUBMISSIONS_PER_HOUR=100000 XPR_TRUST_REPUTATION=2000000000 XPR_ACCESS_TOKEN_TTL_SECS=3600
start() { # port → pid in $STARTED
  XPR_BIND="127.0.0.1:$1" "$XPR" serve >>"$WORK/server-$1.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
  wait_ready "http://127.0.0.1:$1/readyz"
}
start $PORT1
SERVER1=$STARTED

step "dataset: $ENTRIES entries × $REVISIONS revisions through xpr import, $USERS users, $REVIEWS reviews"
echo "$PASSWORD" | "$XPR" create-admin --handle bench_admin --email bench_admin@example.com >/dev/null
"$BENCH" dataset --url "$URL1" --admin bench_admin --password "$PASSWORD" \
  --entries "$ENTRIES" --revisions "$REVISIONS" --out "$WORK/import.jsonl"
IMPORT_START=$(date +%s)
"$XPR" import "$WORK/import.jsonl" --as bench_admin 2>>"$WORK/import.log" >/dev/null
IMPORT_SECS=$(( $(date +%s) - IMPORT_START ))
psql -q -v ON_ERROR_STOP=1 -v users="$USERS" -v reviews="$REVIEWS" -v long_history="$LONG_HISTORY" \
  -v fan_users="$IDLE" -v fan_watchers="$SUBSCRIBERS" \
  "$DB" -f bench/seed.sql
# PostGraphile reads relations from foreign keys; this one is circular, so our schema has no constraint for it.
psql -q "$DB" -c "COMMENT ON TABLE entries IS E'@foreignKey (current_revision_id) references revisions (id)'"
# The SQL above bypassed the server: drop anything it cached.
redis-cli --scan --pattern 'xprbench*' | xargs -r redis-cli del >/dev/null
id_of() { psql -tA "$DB" -c "SELECT e.uuid FROM entries e JOIN entry_kinds k ON k.id = e.kind_id WHERE k.slug = '$1' AND e.slug = '$2'"; }
SHIP=$(id_of ship ship-1) LONG=$(id_of organization org-0) SHORT=$(id_of organization org-1)
FANOUT_ENTRY=$(id_of ship ship-2) WATCHED_ENTRY=$(id_of ship ship-3)

step "PostGraphile 4"
[[ -x "$WORK/peer/node_modules/.bin/postgraphile" ]] || npm install -s --prefix "$WORK/peer" postgraphile@4 >/dev/null
"$WORK/peer/node_modules/.bin/postgraphile" -c "$DB" --schema public --host 127.0.0.1 --port $PEER_PORT \
  --disable-query-log --disable-graphiql >>"$WORK/postgraphile.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -sf -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$PEER/graphql" >/dev/null && break; sleep 0.2; done

record_meta() {
  local cores commit
  cores=$(nproc)
  commit=$(git rev-parse --short HEAD)
  printf '{"kind":"meta","mode":"%s","cores":%s,"commit":"%s","date":"%s","dataset":"%s users, %s entries (3 kinds, parents, links, tags) with %s revisions each from xpr import in %ss, %s reviews, one entry with %s revisions"}\n' \
    "$MODE" "$cores" "$commit" "$(date -u +%FT%TZ)" "$USERS" "$ENTRIES" "$REVISIONS" "$IMPORT_SECS" "$REVIEWS" "$LONG_HISTORY" >>"$RESULTS"
}
record_meta

DASHBOARD='query Dashboard($first: Int) { entries(first: $first, orderBy: TITLE) { edges { cursor node {
  id slug title summary version ratingAverage ratingCount kind { slug name } creator { handle displayName }
  currentRevision { number createdAt author { handle displayName } }
  reviews(first: 3) { edges { node { rating title author { handle displayName } } } } } }
  pageInfo { hasNextPage endCursor } } }'
PEER_DASHBOARD='query Dashboard($first: Int) { allEntries(first: $first, orderBy: [TITLE_ASC, ID_ASC], condition: { deleted: false }) { edges { cursor node {
  uuid slug title summary version ratingAverage ratingCount entryKindByKindId { slug name } userByCreatedBy { handle displayName }
  revisionByCurrentRevisionId { number createdAt userByAuthorId { handle displayName } }
  reviewsByEntryId(first: 3, orderBy: [CREATED_AT_DESC, ID_DESC], condition: { status: "PUBLISHED" }) { nodes { rating title userByAuthorId { handle displayName } } } } }
  pageInfo { hasNextPage endCursor } } }'
# The same read as the Angular + Apollo dashboard sends it: colocated fragments, and
# `__typename` in every selection set (Apollo's InMemoryCache adds it). PostGraphile gets
# the same shape, so the ratio compares like with like.
APOLLO_DASHBOARD='query Dashboard($first: Int) { entries(first: $first, orderBy: TITLE) { __typename edges { __typename cursor node { __typename ...EntryCard_entry } }
  pageInfo { __typename hasNextPage endCursor } } }
fragment UserLink_user on User { __typename id handle displayName }
fragment EntryCard_entry on Entry { __typename id slug title summary version ratingAverage ratingCount
  kind { __typename id slug name } creator { __typename ...UserLink_user }
  currentRevision { __typename id number createdAt author { __typename ...UserLink_user } }
  reviews(first: 3) { __typename edges { __typename node { __typename id rating title author { __typename ...UserLink_user } } } } }'
PEER_APOLLO_DASHBOARD='query Dashboard($first: Int) { allEntries(first: $first, orderBy: [TITLE_ASC, ID_ASC], condition: { deleted: false }) { __typename edges { __typename cursor node { __typename ...EntryCard_entry } }
  pageInfo { __typename hasNextPage endCursor } } }
fragment UserLink_user on User { __typename nodeId handle displayName }
fragment EntryCard_entry on Entry { __typename nodeId uuid slug title summary version ratingAverage ratingCount
  entryKindByKindId { __typename nodeId slug name } userByCreatedBy { __typename ...UserLink_user }
  revisionByCurrentRevisionId { __typename nodeId number createdAt userByAuthorId { __typename ...UserLink_user } }
  reviewsByEntryId(first: 3, orderBy: [CREATED_AT_DESC, ID_DESC], condition: { status: "PUBLISHED" }) { __typename nodes { __typename nodeId rating title userByAuthorId { __typename ...UserLink_user } } } }'
ENTRY_PAGE='query EntryPage($id: ID!) { entry(id: $id) { id title summary body attributes tags version ratingAverage ratingCount
  ratingDistribution { stars count } kind { slug name } creator { handle } parent { id title } links { type entry { id title } }
  history(first: 20) { edges { node { number summary createdAt author { handle } } } pageInfo { hasNextPage endCursor } }
  currentRevision { number diff { changes { field kind before after hunks { oldStart newStart lines { kind text } } } } }
  reviews(first: 10) { edges { node { rating title body helpfulCount author { handle displayName } } } pageInfo { hasNextPage } } } }'
HISTORY='query History($id: ID!) { entry(id: $id) { history(first: 20) { edges { cursor node { number summary createdAt author { handle } } } pageInfo { hasNextPage endCursor } } } }'

http() { "$BENCH" http --out "$RESULTS" --duration-secs "$DURATION" "$@"; }

step "1. dashboard read"
"$BENCH" statements --name "dashboard read" --url "$URL1" --query "$DASHBOARD" --sizes 10,100 --out "$RESULTS"
"$BENCH" statements --name "dashboard read, Apollo-shaped" --url "$URL1" --query "$APOLLO_DASHBOARD" --sizes 10,100 --out "$RESULTS"
# Rounds alternate between the two servers, so the machine's drift (up to 15 % within minutes
# on shared cores) weighs on both alike; the report compares their mean throughput.
for _ in $(seq "$ROUNDS"); do
  http --name "dashboard read" --url "$URL1" --query "$DASHBOARD" --variables '{"first":50}' --concurrency 16
  http --name "dashboard read" --target postgraphile --url "$PEER" --query "$PEER_DASHBOARD" --variables '{"first":50}' --concurrency 16
  http --name "dashboard read, Apollo-shaped" --url "$URL1" --query "$APOLLO_DASHBOARD" --variables '{"first":50}' --concurrency 16
  http --name "dashboard read, Apollo-shaped" --target postgraphile --url "$PEER" --query "$PEER_APOLLO_DASHBOARD" --variables '{"first":50}' --concurrency 16
done

step "2. entry page"
http --name "entry page" --url "$URL1" --query "$ENTRY_PAGE" --variables "{\"id\":\"$SHIP\"}" --concurrency 8

step "3. merges and history paging"
"$BENCH" merge --url "$URL1" --moderator bench_admin --author bench_user_1 --password "$PASSWORD" \
  --sizes 1,10,100 --repeat "$REPEAT" --out "$RESULTS"
http --name "history, 10 revisions" --url "$URL1" --query "$HISTORY" --variables "{\"id\":\"$SHORT\"}" --concurrency 8
http --name "history, 10,000 revisions" --url "$URL1" --query "$HISTORY" --variables "{\"id\":\"$LONG\"}" --concurrency 8

step "4. fan-out: $IDLE idle sockets, events to $SUBSCRIBERS subscribers, $RATE events/s"
start $PORT2
SERVER2=$STARTED
start $PORT3
SERVER3=$STARTED
fanout() { "$BENCH" fanout --out "$RESULTS" --password "$PASSWORD" --moderator bench_admin "$@"; }
URLS=(--url "$URL1" --pid "$SERVER1")
(( FAN_PROCS > 1 )) && URLS+=(--url "$URL2" --pid "$SERVER2")
NAME="$FAN_PROCS process(es)"
# Idle: pings every 10 s (XPR_WS_PING_SECS above), held for three rounds of them.
fanout --name "$((FAN_PROCS + 1)) processes" "${URLS[@]}" --url "$URL3" --pid "$SERVER3" --mode idle \
  --subscribers "$IDLE" --duration-secs 35 --entry "$FANOUT_ENTRY"
fanout --name "$NAME" "${URLS[@]}" --mode entry --subscribers "$SUBSCRIBERS" --entry "$FANOUT_ENTRY"
fanout --name "$NAME" "${URLS[@]}" --mode notification --subscribers "$SUBSCRIBERS" --entry "$WATCHED_ENTRY"
# What the machine allows in the same minutes: reference servers that only write a prebuilt
# frame to every socket, with a task per socket and with one writer (ADR 0031).
FLOORS=(--url "http://127.0.0.1:18090")
(( FAN_PROCS > 1 )) && FLOORS+=(--url "http://127.0.0.1:18091")
fanout --name "$NAME" "${FLOORS[@]}" --mode floor --subscribers "$SUBSCRIBERS" --entry "$FANOUT_ENTRY"
fanout --name "$NAME" "${FLOORS[@]}" --mode floor-one-writer --subscribers "$SUBSCRIBERS" --entry "$FANOUT_ENTRY"
fanout --name "$NAME" "${URLS[@]}" --mode sustained --subscribers "$SUBSCRIBERS" --entry "$WATCHED_ENTRY" \
  --rate "$RATE" --duration-secs "$SUSTAIN_SECS" --database "$DB"
kill "$SERVER3"

step "5. two processes sharing Redis"
http --name "dashboard read" --url "$URL1" --url "$URL2" --query "$DASHBOARD" --variables '{"first":50}' --concurrency 16
(( FAN_PROCS == 1 )) && fanout --name "two processes" --url "$URL1" --url "$URL2" --pid "$SERVER1" --pid "$SERVER2" \
  --mode entry --subscribers "$SUBSCRIBERS" --entry "$FANOUT_ENTRY"

step "report"
"$BENCH" report "$RESULTS" --markdown "$OUT/$MODE.md" --json "$OUT/$MODE.json"
cat "$OUT/$MODE.md"
