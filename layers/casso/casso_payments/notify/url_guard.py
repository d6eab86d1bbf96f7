"""The SSRF guard: a notify URL may only lead to the public internet.

`check_url_shape` is the set-time check that needs no network (`ops`, the NotifyUrl
parameter at cold start): https only (plain http only to
loopback when `allow_loopback`), a host, no credentials, no fragment; `check_url_given` adds,
where a shop gives a URL (an order's `notify_url`), that an address written in it is public.
`check_notify_url` adds the send-time check: every address the host resolves to must be
public (not private, loopback, link-local, metadata, shared, multicast or reserved), and the
POST connects to the address checked (`send.post`), so a DNS answer changed between check
and connect (rebinding) can't redirect it. Locally (NOTIFY_ALLOW_LOOPBACK, set only by the
local stack) loopback addresses are allowed, over http too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

# The cloud metadata addresses, named though the rules below already refuse them.
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))

Resolver = Callable[..., list[tuple[Any, ...]]]


class UnsafeUrl(ValueError):
    """A notify URL the stack refuses to call; the message says why."""


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked address the POST connects to


def check_url_shape(url: str, *, allow_loopback: bool = False) -> SplitResult:
    """Set-time: the URL's form (no DNS). Raises UnsafeUrl."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise UnsafeUrl(f"not a URL: {error}") from None
    if parts.scheme not in (("https", "http") if allow_loopback else ("https",)):
        raise UnsafeUrl("a notify URL must be https")
    if not parts.hostname:
        raise UnsafeUrl("a notify URL needs a host")
    if parts.username or parts.password:
        raise UnsafeUrl("a notify URL must not carry credentials")
    if parts.fragment:
        raise UnsafeUrl("a notify URL must not have a fragment")
    if parts.scheme == "http" and not _is_loopback_name(parts.hostname):
        raise UnsafeUrl("plain http is allowed only to loopback, locally")
    return parts


def check_url_given(url: str, *, allow_loopback: bool = False) -> SplitResult:
    """Where a shop gives a URL (an order's notify_url): the shape, and a host that is
    already refused as written (an address that isn't public, or `localhost`), so the shop
    hears now rather than from the notification log. A name is checked when it is resolved
    (`check_notify_url`). Raises UnsafeUrl."""
    parts = check_url_shape(url, allow_loopback=allow_loopback)
    host = parts.hostname or ""
    if _is_loopback_name(host) and not allow_loopback:
        raise UnsafeUrl(f"{host} is a loopback address")
    try:
        written = ipaddress.ip_address(host)
    except ValueError:
        return parts
    refused = why_refused(written, allow_loopback=allow_loopback)
    if refused:
        raise UnsafeUrl(f"{host} is {refused}")
    return parts


def check_notify_url(
    url: str, *, allow_loopback: bool = False, resolve: Resolver = socket.getaddrinfo
) -> CheckedUrl:
    """Send-time: the shape, then every address the host resolves to. Raises UnsafeUrl
    (refused for good) or OSError (DNS failed: try again later)."""
    parts = check_url_shape(url, allow_loopback=allow_loopback)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = resolve(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    for address in addresses:
        refused = why_refused(address, allow_loopback=allow_loopback)
        if refused:
            raise UnsafeUrl(f"{host} resolves to {address}, {refused}")
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeUrl("plain http is allowed only to loopback, locally")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedUrl(url, parts.scheme, host, port, path, str(addresses[0]))


def why_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool
) -> str:
    """ "" for a public address; else what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return why_refused(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return "" if allow_loopback else "a loopback address"
    if address in METADATA:
        return "a cloud metadata address"
    for kind in ("link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not address.is_global:  # shared (100.64/10), documentation, and the like
        return "not a public address"
    return ""


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
