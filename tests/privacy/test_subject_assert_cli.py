"""`installment subject assert`: a channel's signed assertion, from a private key file."""

from __future__ import annotations

import jwt
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.domain.identity_proof import AUDIENCE
from scoring.service.subject_proof import new_channel_key

CODE = "38001085718"


@pytest.fixture
def keys(tmp_path):  # type: ignore[no-untyped-def]
    private_pem, public_pem = new_channel_key()
    key_file = tmp_path / "desk.pem"
    key_file.write_text(private_pem)
    key_file.chmod(0o600)
    return key_file, public_pem


def _assert(key_file, code: str, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        app,
        ["subject", "assert", "--channel", "shop-desk", "--key-file", str(key_file),
         "--code-stdin", *extra],
        input=code + "\n",
    )  # fmt: skip


def test_it_prints_a_two_minute_assertion_for_one_request_about_the_person(keys):  # type: ignore[no-untyped-def]
    key_file, public_pem = keys
    done = _assert(key_file, CODE, "--request", "erasure", "--identified-by", "id-card")
    assert done.exit_code == 0, done.output
    claims = jwt.decode(done.output.strip(), public_pem, algorithms=["EdDSA"], audience=AUDIENCE)
    assert claims["iss"] == "shop-desk" and claims["sub"] == CODE
    assert claims["request"] == "erasure" and claims["identification_method"] == "id-card"
    assert claims["exp"] - claims["iat"] == 120 and claims["jti"]


def test_a_wrong_code_is_refused_without_repeating_it(keys):  # type: ignore[no-untyped-def]
    done = _assert(keys[0], "38001085719")
    assert done.exit_code != 0
    assert "wrong check digit" in done.output and "38001085719" not in done.output


def test_a_key_file_others_may_read_is_refused_with_the_chmod(keys):  # type: ignore[no-untyped-def]
    key_file = keys[0]
    key_file.chmod(0o644)
    done = _assert(key_file, CODE)
    assert done.exit_code != 0 and f"chmod 600 {key_file}" in done.output


@pytest.mark.parametrize(
    ("option", "value"), [("--request", "rectify"), ("--identified-by", "a hunch")]
)
def test_an_unknown_request_or_method_is_refused_by_name(keys, option, value):  # type: ignore[no-untyped-def]
    done = _assert(keys[0], CODE, option, value)
    assert done.exit_code != 0 and option in done.output
