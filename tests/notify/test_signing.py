"""Standard Webhooks signatures: the specification's own example, round trips, tampering."""

from __future__ import annotations

import pytest

from quietly.notify import generate_secret, sign, verify
from quietly.notify.signing import secret_key

# The example of the Standard Webhooks specification (and of its reference libraries).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_example_signs_as_published() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


@pytest.mark.parametrize(("msg_id", "stamp", "body"), [
    ("msg_other", SPEC_TIMESTAMP, SPEC_BODY),
    (SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY),
    (SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY + b" "),
])
def test_any_change_breaks_the_signature(msg_id: str, stamp: int, body: bytes) -> None:
    assert verify(SPEC_SECRET, msg_id, stamp, body, SPEC_SIGNATURE) is False


def test_several_signatures_in_one_header_during_rotation() -> None:
    header = f"v1,bm9wZQ== {SPEC_SIGNATURE}"
    assert verify(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, header) is True


def test_generated_secrets_are_fresh_and_decode_to_24_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 24


def test_plain_text_secrets_are_their_utf8_bytes() -> None:
    assert secret_key("not-base64-secret!") == b"not-base64-secret!"
    assert secret_key("whsec_***") == b"whsec_***"
