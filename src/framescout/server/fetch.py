"""Server-side URL fetches (upload ``url=``, Roboflow upload ``image=``, hosted inference ``image=``).

The policy, so that a URL can neither stall the server nor probe the network behind it:

* http(s) only; one **total deadline** for the whole fetch, waiting for a slot included (not per read);
* a **byte cap** on the body (no content decoding: ``Accept-Encoding: identity``, encoded bodies refused);
* redirects followed only to the **same host**, at most `MAX_REDIRECTS` hops, each one checked again;
* destinations in loopback, private, shared, link-local, multicast, reserved or unspecified ranges
  (IPv4 and IPv6, IPv4-mapped/6to4/Teredo/NAT64 included) refused unless the allow-list names them.
  The check is made on the addresses the connection really uses: the network backend resolves the
  host once, validates every address and opens the socket to a validated address, so there is no
  DNS-rebinding window between the check and the connect;
* at most ``concurrency`` fetches in flight per process (the others wait, within their deadline), run
  on the event loop with ``httpx.AsyncClient`` so they never hold a thread of the shared pool;
* every refusal and failure answers the **same** error (`FETCH_FAILED`); the reason goes to the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import anyio
import certifi
import httpcore
import httpx

from framescout.imaging import MAX_BYTES
from framescout.server.errors import RequestInvalid

log = logging.getLogger("framescout.server.fetch")

MAX_REDIRECTS = 3
FETCH_FAILED = "fetch_failed"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class FetchError(Exception):
    """Why a fetch failed (for the log only; callers see `fetch_failed_error`)."""


def parse_allow(entries: Iterable[str]) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """Split allow-list entries into networks (``10.0.0.0/8``, ``127.0.0.1``, ``::1``) and host names."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if not entry.replace("-", "").replace(".", "").replace("_", "").isalnum():
                raise ValueError(
                    f"fetch allow-list entry {raw!r} is neither a CIDR nor a host name"
                ) from None
            hosts.add(entry.rstrip("."))
    return tuple(networks), frozenset(hosts)


def refused_range(ip: IPAddress) -> str | None:
    """The name of the special-purpose range ``ip`` lies in, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            reason = refused_range(embedded)
            return f"{reason} (embedded in {ip})" if reason else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("shared address space", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class FetchPolicy:
    """Deadline, byte cap, concurrency and allow-list of server-side URL fetches."""

    deadline: float = 10.0
    max_bytes: int = MAX_BYTES
    concurrency: int = 16
    allow: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = field(init=False)
    hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        networks, hosts = parse_allow(self.allow)
        object.__setattr__(self, "networks", networks)
        object.__setattr__(self, "hosts", hosts)

    def check_address(self, host: str, ip: IPAddress) -> None:
        """Raise `FetchError` unless ``ip`` (an address ``host`` resolved to) may be connected to."""
        if host.lower().rstrip(".") in self.hosts or self._allowed(ip):
            return
        reason = refused_range(ip)
        if reason is not None:
            raise FetchError(f"{host} resolves to {ip}, a {reason} address (not in the fetch allow-list)")

    def _allowed(self, ip: IPAddress) -> bool:
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        candidates = [ip] if mapped is None else [ip, mapped]
        return any(c.version == net.version and c in net for c in candidates for net in self.networks)


def fetch_failed_error(policy: FetchPolicy) -> RequestInvalid:
    """The one answer for every refused or failed fetch: nothing in it tells the causes apart."""
    return RequestInvalid(
        FETCH_FAILED,
        "could not fetch an image from the URL: it must be a public http(s) address that answers 200 "
        f"with an image of at most {policy.max_bytes:,} bytes within {policy.deadline:g} s "
        "(the server log has the details)",
    )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend whose ``connect_tcp`` resolves once, validates every address, and connects to
    a validated address (never to the name, so DNS cannot answer differently for the connect)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos))
        if not addresses:
            raise FetchError(f"{host} resolves to no address")
        for ip in addresses:
            self._policy.check_address(host, ip)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (OSError, httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise FetchError(f"cannot connect to {host}:{port} ({', '.join(map(str, addresses))}): {failure}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool that uses `_GuardedBackend` (httpx has no public knob for it)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(), network_backend=_GuardedBackend(policy), max_connections=1
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


@cache
def _ssl_context() -> ssl.SSLContext:
    """Made once: loading the CA bundle costs more than a small fetch."""
    return ssl.create_default_context(cafile=certifi.where())


def _checked_url(text: str, origin: httpx.URL | None = None) -> httpx.URL:
    """``text`` as an absolute http(s) URL (resolved against ``origin`` for redirects)."""
    try:
        url = origin.join(text) if origin is not None else httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchError(f"invalid URL {text[:200]!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchError(f"not an absolute http(s) URL: {text[:200]!r}")
    return url


def check_url(text: str) -> None:
    """422 ``invalid_url`` for text that is not an absolute http(s) URL (says nothing about the host)."""
    try:
        _checked_url(text)
    except FetchError:
        raise RequestInvalid(
            "invalid_url", f"only absolute http(s) URLs can be fetched; got {text[:200]!r}"
        ) from None


class Fetcher:
    """Fetches under a `FetchPolicy`; one per app (so the concurrency bound is per worker process)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.policy.concurrency)
        return slots

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``, or `fetch_failed_error` (422) for any refusal or failure."""
        check_url(url)
        try:
            with anyio.fail_after(self.policy.deadline):
                async with self._semaphore():
                    return await self._get(_checked_url(url))
        except FetchError as exc:
            reason = str(exc)
        except TimeoutError:
            reason = f"the {self.policy.deadline:g} s deadline passed"
        except (httpx.HTTPError, httpcore.NetworkError, httpcore.TimeoutException, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a fetch must never answer 500; the log keeps the traceback
            log.exception("unexpected error fetching %r", url[:200])
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("URL fetch refused or failed: %r: %s", url[:200], reason)
        raise fetch_failed_error(self.policy)

    async def _get(self, url: httpx.URL) -> bytes:
        headers = {"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": "framescout"}
        async with httpx.AsyncClient(
            transport=_GuardedTransport(self.policy), trust_env=False, timeout=None, headers=headers
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                async with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = self._redirect(url, response)
                        continue
                    return await self._body(url, response)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _redirect(url: httpx.URL, response: httpx.Response) -> httpx.URL:
        location = response.headers.get("location", "")
        target = _checked_url(location, origin=url)
        if target.host != url.host:
            raise FetchError(f"redirect from host {url.host} to another host ({target.host})")
        return target

    async def _body(self, url: httpx.URL, response: httpx.Response) -> bytes:
        if response.status_code != 200:
            raise FetchError(f"{url} answered HTTP {response.status_code}")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"{url} sent a {encoding}-encoded body")
        cap = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"{url} declares {int(declared):,} bytes, over the {cap:,} cap")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_raw():
            total += len(chunk)
            if total > cap:
                raise FetchError(f"{url} sent more than the {cap:,}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)
