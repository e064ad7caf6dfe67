#!/usr/bin/env bash
# Fuzzes the JSON API with schemathesis (4.x) against the OpenAPI document it publishes, with
# every check on: no 5xx, status codes, content types, headers and bodies as documented, every
# schema-valid request accepted and every schema-invalid one refused.
#
#   .ci/schemathesis.sh [PATH_TO_PLANGRAF_BINARY]   (default target/debug/plangraf)
#
# Builds nothing. Runs `plangraf demo` on free loopback ports with a throwaway data directory,
# signs in as the demo customer specialist and stops the demo at the end. Needs `schemathesis`
# on PATH or SCHEMATHESIS=/path/to/schemathesis (e.g. a venv under the temp dir:
# python3 -m venv /tmp/st && /tmp/st/bin/pip install 'schemathesis>=4,<5').
# Bounded: SCHEMATHESIS_MAX_TIME seconds of fuzzing (default 120), plus start and stop.
set -euo pipefail

BIN=${1:-target/debug/plangraf}
ST=${SCHEMATHESIS:-schemathesis}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-120}
[ -x "$BIN" ] || { echo "schemathesis.sh: no plangraf binary at $BIN (build it first)" >&2; exit 2; }
command -v "$ST" >/dev/null || { echo "schemathesis.sh: schemathesis not found (set SCHEMATHESIS)" >&2; exit 2; }
case "$("$ST" --version)" in *"version 4."*) ;; *) echo "schemathesis.sh: schemathesis 4.x required" >&2; exit 2 ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/plangraf-schemathesis.XXXXXX")
DEMO_PID=
cleanup() {
    if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
        kill -TERM "$DEMO_PID" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DEMO_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the demo picks free loopback ports and prints them in its banner.
: >"$WORK/demo.log"
env -u PLANGRAF_DATABASE_URL -u PLANGRAF_SECRET_KEY -u PLANGRAF_SECRET_KEY_FILE \
    PLANGRAF_DATA_DIR="$WORK/data" PLANGRAF_LOG=warn \
    "$BIN" demo --listen 127.0.0.1:0 --sandbox-listen 127.0.0.1:0 >"$WORK/demo.log" 2>&1 </dev/null &
DEMO_PID=$!

BASE=
for _ in $(seq 1 600); do
    BASE=$(sed -n 's/^  plangraf: *\(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$WORK/demo.log" | head -n1 || true)
    [ -n "$BASE" ] && curl -fsS -o /dev/null "$BASE/api/openapi.json" 2>/dev/null && break
    kill -0 "$DEMO_PID" 2>/dev/null || { echo "schemathesis.sh: plangraf demo exited:" >&2; cat "$WORK/demo.log" >&2; exit 1; }
    BASE=
    sleep 0.1
done
[ -n "$BASE" ] || { echo "schemathesis.sh: plangraf demo did not answer within 60 s:" >&2; cat "$WORK/demo.log" >&2; exit 1; }

token() {
    curl -fsS -X POST "$BASE/api/v1/auth/token" -H 'content-type: application/json' \
        -d '{"login": "zakazchik", "password": "zakazchik"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# Rules the document states in prose and cannot express in a schema (НСИ membership, the
# organization type's КВР/КБК rules, a sum above zero, the pre-flight checks before submit and
# approve, a registry number of another organization) answer 422 to schema-valid data. Only these operations may do so; everywhere else a
# schema-valid request must be accepted (or refused for a documented reason: 401/403/404/409/429).
cat >"$WORK/schemathesis.toml" <<'EOF'
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "429", "503"]

[[operations]]
include-operation-id-regex = "^(addPosition|updatePosition|cancelPosition|submitPlan|approvePlan)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "503"]

# Reading ЕИС's copy: a well-formed registry number ЕИС does not know is a 422, and ЕИС (the
# demo's sandbox) not answering is a 502.
[[operations]]
include-operation-id-regex = "^(takeFromEis|reconcilePlan)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "502", "503"]
EOF

# Both tokens are taken before fuzzing starts. The fuzzer does reach POST /auth/token, and it
# reuses values it saw in answers (the `login` of GET /me), so its wrong passwords can lock
# `zakazchik` within the run (5 failures); a lock refuses sign-ins, not tokens already issued, so
# the token endpoint stays in the run. DELETE /auth/token would revoke the very token the run
# uses and turn every later call into a 401, so it is fuzzed last, alone, with its own token.
TOKEN=$(token)
TOKEN_TO_REVOKE=$(token)
# schemathesis keeps its caches in the working directory: keep them out of the project.
cd "$WORK"
RC=0
"$ST" --config-file "$WORK/schemathesis.toml" run "$BASE/api/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $TOKEN" \
    --exclude-name 'DELETE /api/v1/auth/token' \
    --workers 1 --max-time "$MAX_TIME" --max-examples 60 \
    --generation-database none --no-color \
    --report junit --report-dir "$WORK/report" || RC=$?

"$ST" --config-file "$WORK/schemathesis.toml" run "$BASE/api/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $TOKEN_TO_REVOKE" \
    --include-name 'DELETE /api/v1/auth/token' \
    --workers 1 --max-time 20 --max-examples 20 \
    --generation-database none --no-color || RC=$?

if [ "$RC" -ne 0 ]; then
    echo "schemathesis.sh: failures found (exit $RC); server log:" >&2
    tail -n 50 "$WORK/demo.log" >&2
fi
exit "$RC"
