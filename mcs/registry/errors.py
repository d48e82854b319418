"""The one exception the registry raises for bad site files, and how its messages are worded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcs.runtime import UserError

MAX_REPORTED = 50


class RegistryError(UserError):
    """Site files failed validation. `errors` lists every problem as `file:line: field 'f': message`.

    A UserError, so `mcs up` and the CLI print the problems instead of a traceback."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        shown = self.errors[:MAX_REPORTED]
        more = len(self.errors) - len(shown)
        super().__init__("\n".join(shown) + (f"\n… and {more} more" if more > 0 else ""))


def located(path: str, line: int | None, field: str | None, message: str) -> str:
    where = f"{path}:{line}" if line else path
    return f"{where}: field '{field}': {message}" if field else f"{where}: {message}"


def pydantic_message(error: dict[str, Any]) -> str:
    """A pydantic error's message with the offending value, without pydantic's 'Value error, ' prefix."""
    msg: str = error["msg"]
    if error["type"] == "value_error":
        return msg.removeprefix("Value error, ")
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "is not a known field"
    value = error.get("input")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f"{value!r}: {msg}"
    return msg
