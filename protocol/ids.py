"""Message ids: ULIDs, so that ids sort by creation time in logs and outboxes."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def new_id(ms: int | None = None) -> str:
    """A new ULID: 48 bits of milliseconds since the epoch, 80 random bits.

    :param int ms: the timestamp part in milliseconds; the wall clock if omitted.
        The clock only orders ids, uniqueness comes from the random part.
    """
    stamp = int(time.time() * 1000) if ms is None else ms
    value = (stamp & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))
