"""Fetch a hosted image by URL: http(s) only, with a byte cap and a timeout."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx

from framescout.store.errors import Invalid, StoreError


def fetch_url(url: str, *, max_bytes: int, timeout: float) -> bytes:
    """The body at ``url``; 413 past ``max_bytes``, 422 for other schemes or any fetch failure."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Invalid("invalid_url", f"only http(s) URLs can be fetched; got {url[:200]!r}")
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code != 200:
                raise Invalid("fetch_failed", f"GET {url[:200]} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise StoreError("too_large", f"the image at the URL is over {max_bytes:,} bytes", status=413)
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise StoreError(
                        "too_large", f"the image at the URL is over {max_bytes:,} bytes", status=413
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise Invalid("fetch_failed", f"could not fetch {url[:200]}: {exc}") from None
    return b"".join(chunks)
