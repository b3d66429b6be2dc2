"""The hash chain detects any changed, removed or reordered entry."""

from dataclasses import replace
from datetime import UTC, datetime

from scoring.domain.hash_chain import (
    GENESIS_HASH,
    ChainEntry,
    canonical_json,
    entry_hash,
    verify_chain,
)


def build_chain(payloads):
    entries, prev = [], GENESIS_HASH
    for seq, payload in enumerate(payloads, start=1):
        text = canonical_json(payload)
        digest = entry_hash(prev_hash=prev, seq=seq, canonical_payload=text)
        entries.append(ChainEntry(seq, text, prev, digest))
        prev = digest
    return entries


PAYLOADS = [{"decision_id": f"d{i}", "outcome": "approve", "pd": 0.01 * i} for i in range(1, 6)]


def test_an_untouched_chain_verifies():
    assert verify_chain(build_chain(PAYLOADS)) == []


def test_canonical_json_ignores_key_order_and_renders_times():
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert canonical_json({"b": 1, "a": moment}) == canonical_json({"a": moment, "b": 1})
    assert "2026-11-22T12:00:00+00:00" in canonical_json({"a": moment})


def test_a_changed_payload_is_detected_at_that_entry():
    chain = build_chain(PAYLOADS)
    chain[2] = replace(
        chain[2], canonical_payload=chain[2].canonical_payload.replace("approve", "decline")
    )
    breaks = verify_chain(chain)
    assert [b.seq for b in breaks] == [3]
    assert "content" in breaks[0].problem


def test_a_deleted_entry_is_detected():
    chain = build_chain(PAYLOADS)
    del chain[1]
    problems = {b.problem for b in verify_chain(chain)}
    assert any("missing" in p for p in problems)
    assert any("does not link" in p for p in problems)


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry():
    chain = build_chain(PAYLOADS)
    forged_text = chain[1].canonical_payload.replace("approve", "decline")
    forged_hash = entry_hash(prev_hash=chain[1].prev_hash, seq=2, canonical_payload=forged_text)
    chain[1] = replace(chain[1], canonical_payload=forged_text, entry_hash=forged_hash)
    assert [b.seq for b in verify_chain(chain)] == [3]
