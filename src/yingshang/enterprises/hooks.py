"""Who wants to know when enterprises change (policy matching re-checks them; later, credit lists).

The registry is filled by the listening apps in their ``AppConfig.ready``; the enterprises app calls
``changed(ids)`` inside its services' transactions and never imports the listeners."""

from __future__ import annotations

from collections.abc import Callable, Iterable

_listeners: list[Callable[[list[int]], None]] = []


def register(fn: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def changed(enterprise_ids: Iterable[int]) -> None:
    ids = sorted({int(i) for i in enterprise_ids if i is not None})
    if ids:
        for fn in _listeners:
            fn(ids)
