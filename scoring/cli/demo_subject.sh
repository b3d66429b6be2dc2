#!/usr/bin/env bash
# A data-subject request with proof of identity, as the demo's identity desk makes it:
# the desk signs a two-minute assertion with its key (`installment subject assert`), and
# the sales system's key sends it with the request. Run it while `installment demo` serves.
#   bash @SCRIPT@ 38001085718            # access: everything held about the person
#   bash @SCRIPT@ 38001085718 objection  # or erasure
set -euo pipefail
API=@API@
KEY_FILE=@KEY_FILE@
CHANNEL=@CHANNEL@
CHANNEL_KEY=@CHANNEL_KEY@
INSTALLMENT=@INSTALLMENT@
code=${1:-}
request=${2:-access}
if [[ ! $code =~ ^[0-9]{11}$ ]]; then
    echo "give the person's 11-digit personal code, e.g. bash $0 38001085718 [access|erasure|objection]" >&2
    exit 2
fi
case $request in access|erasure|objection) ;; *)
    echo "the request is access, erasure or objection, not '$request'" >&2; exit 2;;
esac
assertion=$(printf '%s\n' "$code" | "$INSTALLMENT" subject assert --channel "$CHANNEL" \
    --key-file "$CHANNEL_KEY" --request "$request" --identified-by smart-id --code-stdin)
curl -sS -X POST "$API/v1/subjects/$request" \
    -H "Authorization: Bearer $(cat "$KEY_FILE")" -H 'Content-Type: application/json' \
    -d "{\"personal_code\": \"$code\", \"identity_assertion\": \"$assertion\"}"
echo
