import uuid

import pytest

from scoring.domain.identifiers import time_ordered_uuid


def test_a_version_7_uuid_of_the_rfc_layout():
    made = time_ordered_uuid(unix_ms=0x017F22E279B0)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    # The first 48 bits are the time, as in RFC 9562's example (2022-02-22 19:22:22 UTC).
    assert str(made).startswith("017f22e2-79b0-7")
    assert uuid.UUID(str(made)) == made


def test_ids_sort_by_time_and_do_not_repeat():
    later = [time_ordered_uuid(unix_ms=1_800_000_000_000 + n) for n in range(200)]
    assert [str(u) for u in later] == sorted(str(u) for u in later)
    same_ms = {time_ordered_uuid(unix_ms=1_800_000_000_000) for _ in range(10_000)}
    assert len(same_ms) == 10_000


def test_now_is_the_default():
    import time

    before = time.time_ns() // 1_000_000
    made = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


@pytest.mark.parametrize("unix_ms", [-1, 1 << 48])
def test_a_time_outside_48_bits_is_refused(unix_ms):
    with pytest.raises(ValueError, match="48 bits"):
        time_ordered_uuid(unix_ms=unix_ms)
