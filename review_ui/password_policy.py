"""What a reviewer's password must be: long, varied, and not one of the passwords guessed first.

Guessers try the most common passwords and their obvious variations first (a common word
with digits or symbols around it, letters swapped for look-alike digits, keyboard and
number runs), so a password built only of those is refused however long it is. A person's
own name for the account is refused inside it too. The messages say what to change and
never repeat the password.
"""

from __future__ import annotations

import re

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MIN_DISTINCT_CHARACTERS = 5

# The base words of the most common passwords in published breach lists, with the
# Estonian ones ("parool" is "password") and this product's own words.
COMMON_WORDS = frozenset(
    [
        "password",
        "passwort",
        "parool",
        "salasona",
        "salas6na",
        "qwerty",
        "qwertz",
        "azerty",
        "asdf",
        "asdfgh",
        "zxcv",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "root",
        "login",
        "user",
        "test",
        "guest",
        "default",
        "changeme",
        "secret",
        "iloveyou",
        "love",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "soccer",
        "hockey",
        "sunshine",
        "princess",
        "master",
        "shadow",
        "superman",
        "batman",
        "trustno",
        "starwars",
        "pokemon",
        "freedom",
        "whatever",
        "michael",
        "jordan",
        "charlie",
        "hello",
        "hunter",
        "killer",
        "summer",
        "winter",
        "spring",
        "autumn",
        "flower",
        "cookie",
        "cheese",
        "computer",
        "internet",
        "google",
        "samsung",
        "apple",
        "abc",
        "abcd",
        "abcdef",
        "tallinn",
        "tartu",
        "eesti",
        "estonia",
        "installment",
        "instalment",
        "reviewer",
        "review",
        "senior",
        "auditor",
        "decision",
        "credit",
    ]
)
_LOOK_ALIKES = str.maketrans("013457@$!", "oieastasi")
_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
)


class PasswordRefused(ValueError):
    """The password breaks the policy; the message says which rule and what to do."""


def check_password(password: str, *, username: str | None = None) -> None:
    """Refuse a password that is short, hardly varied, common or made of the username."""
    stripped = password.strip()
    if len(stripped) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters, not counting "
            "spaces at its ends; a few unrelated words make a good one"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefused(f"password may have at most {MAX_PASSWORD_LENGTH} characters")
    if len(set(stripped.lower())) < MIN_DISTINCT_CHARACTERS:
        raise PasswordRefused(
            f"password must use at least {MIN_DISTINCT_CHARACTERS} different characters"
        )
    lowered = stripped.lower()
    if username and len(username) >= 3 and username.lower() in lowered:
        raise PasswordRefused("password must not contain the username")
    # Digits and symbols around the core are what people add to satisfy rules like these.
    core = re.sub(r"^[^a-z]+|[^a-z]+$", "", lowered)
    if _is_run(lowered) or _is_run(core) or _only_common_words(lowered, core):
        raise PasswordRefused(
            "password is among those guessed first (a common word or a keyboard or number "
            "run, with digits or symbols added); choose a few unrelated words instead"
        )


def _is_run(text: str) -> bool:
    """A piece of a keyboard, alphabet or digit run, forwards or backwards, maybe repeated."""
    compact = re.sub(r"[^a-z0-9]", "", text)
    if not compact:
        return True
    for size in range(1, len(compact) // 2 + 1):
        unit = compact[:size]
        if len(compact) % size == 0 and unit * (len(compact) // size) == compact:
            compact = unit
            break
    return any(compact in run or compact in run[::-1] for run in _RUNS)


def _only_common_words(text: str, core: str) -> bool:
    """Letters that, with look-alike digits read as letters, are only common words."""
    for candidate in (text, core.translate(_LOOK_ALIKES)):
        letters = re.sub(r"[^a-z]", "", candidate)
        if not letters or _split_into_common(letters):
            return True
    return False


def _split_into_common(letters: str) -> bool:
    # reachable[i]: letters[:i] is a sequence of whole common words.
    reachable = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        reachable[end] = any(
            reachable[start] and letters[start:end] in COMMON_WORDS for start in range(end)
        )
    return reachable[-1]
