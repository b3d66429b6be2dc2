#!/usr/bin/env bash
# The demo's personas: one application each, with the outcome it gives. Run it while
# `installment demo` serves; it needs only bash and curl.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUREAU=@BUREAU@
API=@API@
KEY_FILE=@KEY_FILE@
failed=0
field() {  # the value of a top-level string field of a JSON answer (empty if none)
    { grep -o "\"$1\":\"[^\"]*\"" || true; } | head -n1 | cut -d'"' -f4
}
ask() {  # name, expected outcome, then decide.sh's arguments
    local name=$1 expected=$2
    shift 2
    answer=$(bash "$HERE/decide.sh" "$@")
    outcome=$(printf '%s' "$answer" | field outcome)
    if [ -z "$outcome" ]; then  # an error answer: show it, go on with the others
        printf '%-8s expected %-15s no decision: %s\n' "$name" "$expected" "$answer"
        failed=1
        return 0
    fi
    printf '%-8s expected %-15s got %-15s decision %s\n' \
        "$name" "$expected" "$outcome" "$(printf '%s' "$answer" | field decision_id)"
}
