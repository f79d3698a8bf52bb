"""Pure: the bodies and signature of outbound webhooks (no Django).

Slack and Mattermost incoming webhooks accept the same JSON: {"text": ...} with *bold* and
<url|label> links. The generic webhook posts the message as JSON, signed like the MLflow
scheme Sprintplan verifies inbound: HMAC-SHA256 over "<timestamp>.<raw body>" with the
subscription's secret, the timestamp in its own header so a receiver can refuse stale or
replayed deliveries."""

import hashlib
import hmac
import json

SIGNATURE_HEADER = "X-Sprintplan-Signature"
TIMESTAMP_HEADER = "X-Sprintplan-Timestamp"


def chat_body(*, title: str, body: str, url: str) -> bytes:
    text = f"*{title}*"
    if body:
        text += f"\n{body}"
    if url:
        text += f"\n<{url}|Open in Sprintplan>"
    return json.dumps({"text": text, "username": "Sprintplan"}).encode()


def generic_body(*, event: str, key: str, title: str, body: str, url: str, facts: dict) -> bytes:
    return json.dumps(
        {"event": event, "key": key, "title": title, "body": body, "url": url, "facts": facts},
        sort_keys=True,
    ).encode()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, raw: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, raw),
    }


def verify(secret: str, timestamp: str, raw: bytes, given: str) -> bool:
    """What a receiver does (used by the tests' loopback receiver)."""
    try:
        expected = signature(secret, int(timestamp), raw)
    except ValueError:
        return False
    return hmac.compare_digest(expected, given or "")
