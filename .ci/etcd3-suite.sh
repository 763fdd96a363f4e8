#!/usr/bin/env bash
# The etcd3 npm client's own test suite (../shared/etcd3-suite, unmodified) against etcdsim served
# over TLS with the suite's certificates, the way the suite's README runs it against etcd 3.4.23.
#
#   .ci/etcd3-suite.sh           the 138 tests that do not use the Auth service (--skip-auth) must pass
#   .ci/etcd3-suite.sh --full    all 155 baseline tests, auth included
#
# The server is `npm run serve`'s entry point (server/main.ts under tsx), started on a free port and
# stopped by its own PID. The script exits with the suite's status; its last line is the suite's
# "X of the Y baseline tests pass".
#
# Known client race: etcd3 1.1.2 closes every gRPC channel of a client when one of its watch
# streams ends with CANCELLED (its own cancel, taken for a server fault). A call the client has
# queued but not yet sent then fails with "14 UNAVAILABLE: No connection established": in the
# election tests' afterEach, the teardown's DeleteRange sent on the LeaseRevoke answer loses to an
# observer's watch, cancelled on that revoke's event. It failed 2 suite runs in 3 while etcdsim
# wrote watch events inside the apply, ahead of the write's answer; with the send loop on its own
# turn (v3/v3rpc/watch.ts) the answer goes first, as on a real etcd, and it has not failed since.
# Each run has a fresh data dir. A run whose only failures are that message is still repeated
# once on a fresh server, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=../shared/etcd3-suite
certs=$suite/src/test/certs
args=(--skip-auth --baseline "$suite/baseline-noauth-etcd-3.4.23.txt")
if [ "${1:-}" = "--full" ]; then args=(--baseline "$suite/baseline-etcd-3.4.23.txt"); fi

log=$(mktemp)
out=$(mktemp)
data=
pid=
stop_server() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  pid=
}
trap 'stop_server; rm -f "$log" "$out"; [ -z "$data" ] || rm -rf "$data"' EXIT

start_server() {
  : >"$log"
  # A fresh data dir each time, as the suite's README asks of the server ("a fresh, empty server").
  [ -z "$data" ] || rm -rf "$data"
  data=$(mktemp -d)
  node --import tsx server/main.ts --data-dir "$data" --listen-client-urls https://127.0.0.1:0 \
    --cert-file "$certs/certs/etcd0.localhost.crt" --key-file "$certs/private/etcd0.localhost.key" 2>"$log" &
  pid=$!
  for _ in $(seq 300); do
    if grep -q "etcdsim listening on" "$log"; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "etcd3-suite.sh: the server did not start" >&2; exit 2; }
    sleep 0.1
  done
  addr=$(sed -n 's|.*etcdsim listening on https://\([0-9.]*:[0-9]*\).*|\1|p' "$log" | head -1)
  [ -n "$addr" ] || { cat "$log" >&2; echo "etcd3-suite.sh: no ready line" >&2; exit 2; }
}

run_suite() {
  start_server
  status=0
  bash "$suite/run.sh" "${args[@]}" "$addr" 2>&1 | tee "$out" || status=${PIPESTATUS[0]}
  stop_server
  return "$status"
}

status=0
run_suite || status=$?
if [ "$status" = 1 ] && grep -q '^FAIL: ' "$out" && ! grep '^FAIL: ' "$out" | grep -qv 'No connection established'; then
  echo "etcd3-suite.sh: every failure above is the etcd3 client's 'No connection established' race; running the suite once more on a fresh server"
  status=0
  run_suite || status=$?
fi
exit "$status"
