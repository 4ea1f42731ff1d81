"""Process-wide pieces the verifiers share: a thread-safe LRU cache and a pool registry."""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

__all__ = ["LRUCache", "PoolRegistry"]

V = TypeVar("V")


class LRUCache(Generic[V]):
    """A thread-safe least-recently-used map of at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value of ``key`` (now most recently used), or ``None``."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class _Closable(Protocol):
    def close(self) -> None: ...


P = TypeVar("P", bound=_Closable)


class PoolRegistry(Generic[P]):
    """One pool of worker processes per settings key, shared by the whole process.

    Every pool is closed by :meth:`shutdown`, which also runs at interpreter exit.
    """

    def __init__(self, factory: Callable[..., P]) -> None:
        self._factory = factory
        self._pools: dict[Hashable, P] = {}
        self._lock = threading.Lock()
        atexit.register(self.shutdown)

    def get(self, *key: Hashable) -> P:
        """The pool for ``key`` (the factory's arguments), created on first use."""
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = self._factory(*key)
            return pool

    def shutdown(self) -> None:
        """Close every pool of this process."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
