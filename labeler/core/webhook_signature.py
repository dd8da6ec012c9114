"""Signing webhook deliveries: HMAC-SHA256 over ``"<timestamp>.<body>"``.

The receiver recomputes the signature with the webhook's secret and compares in
constant time; the timestamp inside the signed text lets it refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Labeler-Signature"  # "sha256=<hex digest>"
TIMESTAMP_HEADER = "X-Labeler-Timestamp"  # Unix seconds, as text
EVENT_HEADER = "X-Labeler-Event"
DELIVERY_HEADER = "X-Labeler-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: ``sha256=`` and the hex HMAC of ``timestamp.body``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, header: str, now: float, tolerance: float = 300
) -> bool:
    """True when ``header`` signs ``body`` at ``timestamp`` within ``tolerance`` seconds."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)
