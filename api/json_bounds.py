"""JSON within bounds, for every entry point (HTTP bodies, Kafka messages): at most 64 levels
of nesting and 40 digits per number, no NaN or Infinity. The standard parser recurses and
converts numbers of any length; these bounds keep one document from costing a worker its
stack or its CPU.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_JSON_DEPTH = 64
MAX_NUMBER_DIGITS = 40


class MalformedJson(ValueError):
    """A body that is not JSON, or JSON beyond the bounds; the message says which."""


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number.")


def _bounded_int(text: str) -> int:
    # Checked before int(): converting a huge literal is itself the cost to avoid.
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise MalformedJson(f"A number has more than {MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _bounded_float(text: str) -> float:
    if sum(ch.isdigit() for ch in text) > MAX_NUMBER_DIGITS:
        raise MalformedJson(f"A number has more than {MAX_NUMBER_DIGITS} digits.")
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJson("A number is out of range.")
    return value


def _depth(document: Any) -> int:
    """How deeply arrays and objects nest, walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        level += 1
        if level > MAX_JSON_DEPTH:
            return level
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def strict_loads(data: str | bytes) -> Any:
    """json.loads within the bounds; anything else raises MalformedJson."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float,
                              parse_constant=_refuse_constant)
    except MalformedJson:
        raise
    except RecursionError:
        raise MalformedJson(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except UnicodeDecodeError:
        raise MalformedJson("The body is not UTF-8.") from None
    except ValueError as error:
        raise MalformedJson(f"The body is not valid JSON: {error}.") from None
    # nesting cannot be deeper than the number of brackets that open it: most documents
    # need no walk at all
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and _depth(document) > MAX_JSON_DEPTH:
        raise MalformedJson(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    return document
