"""The one holder of the engine being served; a knowledge reload swaps it in one step.

Everything that reads knowledge (the answering service, the catalogue behind the menus) asks the holder
for :attr:`EngineHolder.current` each time instead of keeping an engine of its own, so after
:meth:`EngineHolder.swap` every new question and menu uses the new knowledge, while work already running
finishes on the engine it started with.

Listeners registered with :meth:`EngineHolder.add_listener` are awaited after each swap with the old and
the new engine (for example to tell attendees that a session they bookmarked has moved); a failing
listener is logged and does not undo the swap or stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from index.engine import Engine

log = logging.getLogger(__name__)

Listener = Callable[[Engine | None, Engine], Awaitable[None]]


class EngineHolder:
    """Holds the current :class:`Engine`; see the module docstring."""

    def __init__(self, engine: Engine | None = None, *, loader: Callable[[], Engine] | None = None) -> None:
        """Hold ``engine``, or load it with ``loader`` the first time it is asked for (a command that
        never reads the knowledge then never pays for loading it)."""
        if engine is None and loader is None:
            raise ValueError("an engine or a loader is needed")
        self._engine = engine
        self._loader = loader
        self._listeners: list[Listener] = []

    @property
    def current(self) -> Engine:
        if self._engine is None:
            assert self._loader is not None
            self._engine = self._loader()
        return self._engine

    @property
    def loaded(self) -> bool:
        """Whether the engine has been loaded (always true for a holder given an engine)."""
        return self._engine is not None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` after every swap."""
        self._listeners.append(listener)

    async def announce_loaded(self) -> None:
        """Tell the listeners about the engine served at start-up (``old`` is None)."""
        await self._notify(None, self.current)

    async def swap(self, engine: Engine) -> Engine:
        """Serve ``engine`` from now on; return the engine it replaces."""
        old, self._engine = self.current, engine
        log.info("engine swapped: index %s -> %s", old.version, engine.version)
        await self._notify(old, engine)
        return old

    async def _notify(self, old: Engine | None, new: Engine) -> None:
        for listener in self._listeners:
            try:
                await listener(old, new)
            except Exception:
                log.exception("engine listener %r failed after loading index %s", listener, new.version)
