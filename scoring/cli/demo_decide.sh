#!/usr/bin/env bash
# Ask the demo's decision API for an instalment decision, as the sales system would.
# usage: decide.sh PERSONAL_CODE [AMOUNT_EUR] [TERM_MONTHS] [PRODUCT_CATEGORY] [HUMAN_REVIEW]
# HUMAN_REVIEW: true asks for a person to decide (the answer is pending_review).
set -euo pipefail
API=@API@
KEY_FILE=@KEY_FILE@
if [ $# -lt 1 ]; then
    sed -n 3,4p "$0" >&2
    exit 2
fi
# The application's own identifier: no run of 11 digits, which the API would refuse as a
# possible personal code (a nanosecond clock reading holds one now and then).
application_id="TRY-$(date +%s)-$$-$RANDOM"
body=$(printf '{"application_id": "%s", "personal_code": "%s", "purchase": {"amount_eur": %s, "term_months": %s, "product_category": "%s"}, "channel": "web", "human_review_requested": %s}' \
    "$application_id" "$1" "${2:-1500}" "${3:-12}" "${4:-electronics}" "${5:-false}")
curl -sS "$API/v1/decisions" \
    -H "Authorization: Bearer $(cat "$KEY_FILE")" \
    -H 'Content-Type: application/json' \
    -d "$body"
echo
