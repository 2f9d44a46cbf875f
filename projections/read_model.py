"""What a read model is: tables, and one handler per event type it cares about."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from adapters.sql import Cursor

EventHandler = Callable[[Any, Any, int, Cursor], None]


def on(*event_types: type) -> Callable[[EventHandler], EventHandler]:
    """Marks a method as the handler of the given event types."""

    def mark(method: EventHandler) -> EventHandler:
        method.__dict__["handles"] = event_types
        return method

    return mark


class ReadModel:
    """Base of every read model: subclasses list their tables and mark handlers with `on`.

    Events without a handler are skipped, and the runner still advances past them.
    """

    name: ClassVar[str]
    tables: ClassVar[Sequence[str]]
    table_names: ClassVar[Sequence[str]]
    _handlers: ClassVar[dict[type, EventHandler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                for event_type in getattr(attribute, "handles", ()):
                    cls._handlers[event_type] = attribute

    def apply(self, event: Any, position: int, cursor: Cursor) -> None:
        """Applies one event to the read model, inside the runner's transaction."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, event, position, cursor)

    def reset(self, cursor: Cursor) -> None:
        """Empties the read model, for a rebuild from zero."""
        for table in self.table_names:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - names are class constants
