"""Authenticating deliveries. Pure: no Django.

Label Studio signs nothing: the user adds our secret as a custom webhook header.
MLflow signs `f"{delivery_id}.{timestamp}.{raw_body}"` with HMAC-SHA256 keyed by the secret
(raw UTF-8) and sends `v1,<base64 digest>`; it must be checked over the raw body bytes.
"""

import base64
import hashlib
import hmac
import secrets

MAX_AGE_SECONDS = 300


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a shared secret header."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def mlflow_problem(
    *,
    secret: str,
    delivery_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
) -> str | None:
    """Why an MLflow delivery is not authentic, or None when it is."""
    if not (delivery_id and timestamp and signature):
        return "missing X-MLflow-Delivery-Id, X-MLflow-Timestamp or X-MLflow-Signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-MLflow-Timestamp is not Unix seconds"
    expected = mlflow_signature(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "signature does not match"
    # Checked after the signature, so the answer tells a forger nothing about the clock.
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        return "timestamp is more than 5 minutes away from now (stale or replayed)"
    return None
