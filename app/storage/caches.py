"""What one process keeps in memory between requests, bounded: cachetools' LRU caches behind a lock.

Every such store has a size limit, the least recently used entry going first: a flood of client
addresses or devices cannot grow a process without end, and a store of configuration keeps the
busy halls. cachetools' caches are not safe for threads on their own (a read moves an entry in
the recency order), and a web process serves requests from many threads, hence the lock; each
operation holds it for a dictionary's work, never across a database call.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache


class Kept:
    """A bounded map for many threads (``get``, ``[key]``, ``[key] = value``, ``pop``, ``in``, ``len``)."""

    def __init__(self, maxsize: int) -> None:
        self._cache: LRUCache = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._cache.get(key, default)

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            return self._cache[key]

    def __setitem__(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._cache[key] = value

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._cache.pop(key, default)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._cache

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
