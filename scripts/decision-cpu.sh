#!/usr/bin/env bash
# Server CPU per POST /v1/decisions on the demo database: starts `installment serve
# --in-process-bureau`, sends COUNT decisions for the demo's personas one after another
# (20 more first, to warm up), and prints the server's user+system CPU per decision, which
# other work on the machine does not inflate the way it does wall-clock latency.
# usage: INSTALLMENT_HOME=var scripts/decision-cpu.sh [COUNT] [PORT]
set -euo pipefail
count=${1:-300}
port=${2:-2540}
installment=${INSTALLMENT:-.venv/bin/installment}
api="http://127.0.0.1:$port"
key=$(cat "$INSTALLMENT_HOME/secrets/demo-api-key")
# personal code, amount, term, category of every persona the bureau answers for
mapfile -t people < <(
    .venv/bin/python -c '
import json, sys
for p in json.load(open(sys.argv[1])):
    if p["kind"] != "bureau_down":
        print(p["personal_code"], p["amount_eur"], p["term_months"], p["product_category"])
' "$INSTALLMENT_HOME/demo/personas.json"
)

"$installment" serve --port "$port" --in-process-bureau "$INSTALLMENT_HOME/world" --no-webhooks \
    > /tmp/decision-cpu-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "$api/readyz" > /dev/null 2>&1; do
    kill -0 $server 2>/dev/null || { cat /tmp/decision-cpu-serve.log; exit 1; }
    sleep 0.2
done

decide() {  # how many, a name for the round
    for ((i = 0; i < $1; i++)); do
        read -r code amount term category <<< "${people[i % ${#people[@]}]}"
        curl -sS --fail-with-body -o /tmp/decision-cpu-answer.json "$api/v1/decisions" -H "Authorization: Bearer $key" \
            -H 'Content-Type: application/json' \
            -d "{\"application_id\": \"CPU-p$$-$2-n$i\", \"personal_code\": \"$code\",
                 \"purchase\": {\"amount_eur\": $amount, \"term_months\": $term,
                 \"product_category\": \"$category\"}, \"channel\": \"web\"}"
    done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

decide 20 warm
before=$(cpu_ticks)
decide "$count" timed
after=$(cpu_ticks)
echo "server CPU per decision: $(echo "scale=2; ($after - $before) * 1000 / $(getconf CLK_TCK) / $count" | bc) ms ($count decisions)"
