#!/usr/bin/env bash
# Wall-clock seconds of what a newcomer waits for on the demo database: `serve` until
# /readyz answers 200, `audit replay` of one decision, and `monitor`.
# usage: INSTALLMENT_HOME=var scripts/time-first-hour.sh DECISION_ID [PORT]
set -euo pipefail
decision=$1
port=${2:-2520}
installment=${INSTALLMENT:-.venv/bin/installment}
now() { date +%s.%N; }
seconds() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

start=$(now)
"$installment" serve --port "$port" --in-process-bureau "$INSTALLMENT_HOME/world" --no-webhooks \
    > /tmp/time-first-hour-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; do
    kill -0 $server 2>/dev/null || { cat /tmp/time-first-hour-serve.log; exit 1; }
    sleep 0.1
done
echo "serve to /readyz   $(seconds "$start" "$(now)") s"
kill $server; wait $server 2>/dev/null || true
trap - EXIT

start=$(now)
"$installment" audit replay "$decision" > /dev/null
echo "audit replay       $(seconds "$start" "$(now)") s"

start=$(now)
"$installment" monitor > /dev/null
echo "monitor            $(seconds "$start" "$(now)") s"
