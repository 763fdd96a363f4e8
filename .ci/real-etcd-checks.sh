#!/usr/bin/env bash
# Keeps etcdsim honest against a real etcd 3.4, on every submission (issue 6):
#   1. launches a real etcd on free loopback ports, with its own temp data dir and --enable-v2;
#   2. `npm start -- --target <it>`: every lesson that can run against a real etcd does, beside
#      etcdsim, and every headline claim must agree;
#   3. `npm run conformance`: the request cases of every feature area against a real etcd and
#      `npm run serve` (it launches its own pair), every answer must be equal;
#   4. stops the etcd it launched, by PID (never by name), and removes its data dir.
# Exits non-zero if any step finds a disagreement. Usage: .ci/real-etcd-checks.sh [lesson selectors…]
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD="${ETCD_BINARY:-etcd}"
"$ETCD" --version | sed -n 1p   # sed reads everything: `head -1` can SIGPIPE etcd under pipefail

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

CLIENT_PORT="$(free_port)"
PEER_PORT="$(free_port)"
DATA_DIR="$(mktemp -d)"
CLIENT_URL="http://127.0.0.1:${CLIENT_PORT}"
PEER_URL="http://127.0.0.1:${PEER_PORT}"

"$ETCD" --name ci --data-dir "$DATA_DIR" \
  --listen-client-urls "$CLIENT_URL" --advertise-client-urls "$CLIENT_URL" \
  --listen-peer-urls "$PEER_URL" --initial-advertise-peer-urls "$PEER_URL" \
  --initial-cluster "ci=${PEER_URL}" --enable-v2=true --log-level=error >/dev/null 2>&1 &
ETCD_PID=$!

stop_etcd() {
  if kill -0 "$ETCD_PID" 2>/dev/null; then
    kill -TERM "$ETCD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ETCD_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap stop_etcd EXIT

# Wait for /health (at most 20 s).
node -e '
  const url = process.argv[1];
  (async () => {
    for (let i = 0; i < 200; i++) {
      try { const r = await fetch(url + "/health"); if ((await r.json()).health === "true") return; } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    console.error("etcd at " + url + " did not become healthy"); process.exit(1);
  })();
' "$CLIENT_URL"

status=0
echo "== lessons: etcdsim vs real etcd at ${CLIENT_URL}"
npm start --silent -- --target "$CLIENT_URL" "$@" || status=1

echo "== conformance: etcdsim's server vs a real etcd"
npm run --silent conformance -- --skip lessons || status=1   # step 2 compared the lessons

exit "$status"
