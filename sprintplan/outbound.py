"""Where the server may send HTTP requests on a user's say-so (chat webhooks).

A webhook address is typed by a person; without a check it could point the server at
itself, the database host or the cloud's metadata service (server-side request forgery).
Outbound addresses must resolve to public IP addresses only, unless the deployment allows
private ones (`OUTBOUND_ALLOW_PRIVATE`: an on-premises chat server, development).
The check runs when the address is saved (the person sees why) and again before every
request (DNS can change in between); redirects are not followed."""

import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from .errors import InvalidInput


def private_reason(url: str) -> str:
    """Why `url` may not be called ("" when it may): not http(s), no host, or a host that
    resolves to a loopback, private, link-local, multicast or reserved address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it is not an http(s) address with a host"
    if settings.OUTBOUND_ALLOW_PRIVATE:
        return ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        return f"{parts.hostname} does not resolve"
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return f"{parts.hostname} is a private or local address ({address})"
    return ""


def ensure_public(url: str, *, field: str) -> None:
    """Refuse an address the server may not call, naming why (InvalidInput on `field`)."""
    reason = private_reason(url)
    if reason:
        raise InvalidInput(f"The server only calls public addresses, and {reason}.", field=field)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is for a webhook: the checked address is the
    only one called."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


opener = urllib.request.build_opener(_NoRedirects)
