"""The destination guard: internal addresses refused unless allowed, shapes checked."""

from __future__ import annotations

import pytest

from quietly.notify import DestinationRefused, check_destination

REFUSED = [
    "http://127.0.0.1/hook", "http://localhost:8080/", "http://10.1.2.3/",
    "http://172.16.0.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/", "http://[fe80::1]/", "http://[fd00::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/",
    # Not global (issue #14 point 6): carrier-grade NAT, where cloud metadata services live.
    "http://100.100.100.200/latest/meta-data", "http://100.64.0.1/", "http://198.18.0.1/",
]
BAD_SHAPES = ["ftp://example.com/", "http:///x", "https://user:pw@example.com/", "not a url",
              "http://example.com:99999/"]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused) as caught:
        check_destination(url, allow_private=False)
    assert caught.value.retryable is False


@pytest.mark.parametrize("url", REFUSED)
def test_internal_destinations_pass_when_allowed(url: str) -> None:
    check_destination(url, allow_private=True)


@pytest.mark.parametrize("url", BAD_SHAPES)
def test_bad_shapes_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_destination(url, allow_private=True)


def test_public_addresses_pass() -> None:
    check_destination("https://93.184.215.14/hook", allow_private=False)
    check_destination("http://[2606:4700::1111]/", allow_private=False)
