"""The engine state a user can switch, kept per thread.

Grad mode, anomaly mode, scopes and the recording of source lines live in
:data:`modes`, a ``threading.local``: every thread starts with the defaults (grad on,
nothing annotated) and a switch made in one thread is never seen by another. Whoever
switches a mode restores it, also when an exception leaves the block.

Why ``threading.local`` and not ``contextvars``: the recording hot path must not pay
for a per-thread read on every op (about 80 ns, as much as recording a Scalar op costs
in total), so it first reads one module global, :data:`switched`, empty while no
mode is switched in any thread. That count is exact only if state cannot be copied; a
``contextvars`` context is copied into every asyncio task and into ``Context.run``,
so a copy could keep a switch alive after its count was returned. The price: asyncio
tasks of one thread share its modes, as they do in PyTorch, so a ``no_grad()`` block
should not span an ``await``.

Backward passes run one at a time (:data:`backward_lock`): they accumulate into the
nodes they reach and into the ``.grad`` of leaves, and a parameter shared by threads
is reached by each of them. An in-place change and a call of a compiled step hold the
same lock: a pass or a step never reads a value while another thread changes it.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import Any


class Modes(threading.local):
    """The switches of one thread; a new thread sees the class defaults."""

    grad_enabled: bool = True
    #: The nested ``scope()`` names new values are created in.
    scope: tuple[str, ...] = ()
    #: How many ``record_sites()`` / ``detect_anomaly()`` blocks are open.
    record_sites: int = 0
    anomaly: int = 0
    #: How many ``trace()`` recordings are running: values that depend on the traced
    #: inputs or on parameters must not be read outside the graph meanwhile.
    tracing: int = 0
    #: True while none of scope, record_sites, anomaly, tracing is active: nothing to
    #: annotate or check about a new op node.
    plain: bool = True

    def __init__(self) -> None:  # run in each thread, at its first use of the modes
        #: The grad modes the open ``GradMode`` blocks of this thread replaced,
        #: innermost last (one object may be entered by several threads).
        self.replaced: list[bool] = []

    def update_plain(self) -> None:
        self.plain = not (self.scope or self.record_sites or self.anomaly or self.tracing)


modes = Modes()

#: One entry per mode switched away from its value in any thread, open right now.
#: While it is empty every thread runs with the defaults, and the hot path of recording
#: skips reading :data:`modes`. ``list.append`` and ``list.pop`` are atomic, so the
#: count needs no lock.
switched: list[None] = []

#: Held by a backward pass from start to end (reentrant: a hook may run backward), by a
#: call of a compiled step, and by an in-place change from its write to its record (see
#: ``Node._bump_version``).
backward_lock = threading.RLock()


class CollectorPause:
    """Python's cyclic collector off for a ``with`` block, when ``wanted`` and this is the
    only thread.

    Building a large graph allocates many objects that form no cycles, so full
    collections triggered meanwhile walk every live object and free nothing. The
    switch is process-wide, so with other threads running it stays as it is: another
    thread may rely on collections, or switch the collector itself.
    """

    __slots__ = ("paused",)

    def __init__(self, wanted: bool = True) -> None:
        self.paused = wanted and threading.active_count() == 1 and gc.isenabled()

    def __enter__(self) -> None:
        if self.paused:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.paused:
            gc.enable()


def set_mode(name: str, value: Any) -> Any:
    """Set one mode of this thread and count the switch; returns the old value for
    :func:`restore_mode`. Every ``set_mode`` needs exactly one ``restore_mode``."""
    old = getattr(modes, name)
    switched.append(None)  # before the change: the hot path must never see it uncounted
    setattr(modes, name, value)
    modes.update_plain()
    return old


def restore_mode(name: str, old: Any) -> None:
    """Undo :func:`set_mode`."""
    setattr(modes, name, old)
    modes.update_plain()
    switched.pop()


def grad_enabled() -> bool:
    """Whether this thread records operations right now."""
    return not switched or modes.grad_enabled


class GradMode:
    """Context manager and decorator that sets whether this thread records operations.

    One object may be entered again, nested or in several threads at once (``no_grad()``
    hands out one object for every call): the modes it replaced are kept per thread
    (``modes.replaced``), and ``with`` blocks end in the reverse order of their start.
    """

    __slots__ = ("enabled",)
    enabled: bool

    def __init__(self, enabled: bool) -> None:
        object.__setattr__(self, "enabled", bool(enabled))

    def __setattr__(self, name: str, value: object) -> None:
        # One object serves every no_grad() (and enable_grad()) of the process: a change
        # to it would switch every other caller's blocks too.
        raise AttributeError("a grad mode cannot be changed; use no_grad() or enable_grad() for the other mode")

    # An optimizer step enters one per step: a switch to the mode in force costs only
    # the read, and grad mode leaves ``plain`` alone. Each read of a thread's modes
    # looks up the thread's own dict, so the block reads ``replaced`` once, and
    # ``grad_enabled`` only while some mode is switched (else it is on).
    def __enter__(self) -> None:
        here = modes
        old = not switched or here.grad_enabled
        here.replaced.append(old)
        if old is not self.enabled:
            switched.append(None)
            here.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        here = modes
        old = here.replaced.pop()
        if old is not self.enabled:
            here.grad_enabled = old
            switched.pop()

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        enabled = self.enabled

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with GradMode(enabled):
                return func(*args, **kwargs)

        return wrapper
