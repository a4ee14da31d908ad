"""A bounded JSON-lines exchange with ash-serve over TCP: one thread writes, the caller reads, so
neither side can block the other however much either writes."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any


def exchange(
    address: tuple[str, int], lines: list[str], *, until: str = "stats", timeout: float = 120.0
) -> list[dict[str, Any]]:
    """Send ``lines``; return every reply up to and including the first of type ``until``."""
    with socket.create_connection(address, timeout=timeout) as sock:

        def send() -> None:
            sock.sendall(("\n".join(lines) + "\n").encode())

        writer = threading.Thread(target=send, daemon=True)
        writer.start()
        replies: list[dict[str, Any]] = []
        with sock.makefile("r") as f:
            for raw in f:
                replies.append(json.loads(raw))
                if replies[-1].get("type") == until:
                    break
        writer.join(timeout=timeout)
    if not replies or replies[-1].get("type") != until:
        raise AssertionError(f"the server closed before a {until!r} reply; got {replies[-3:]}")
    return replies
