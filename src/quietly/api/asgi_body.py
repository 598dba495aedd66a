"""A request body read whole and handed on again: what middlewares that look at the body
before the application (the create and decide shortcuts, idempotency) share."""

from __future__ import annotations

from starlette.types import Message, Receive

__all__ = ["read_body", "replay_once"]


async def read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_once(body: bytes) -> Receive:
    """A ``receive`` that gives ``body`` as one message, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
