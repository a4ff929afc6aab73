"""API keys: high-entropy random strings, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "fs_"


def generate_key() -> str:
    """A new key (shown once). Lower-case letters are required: the roboflow package treats
    all-upper-case keys as placeholders."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, safe to show in listings."""
    return key[: len(KEY_PREFIX) + 6]
