"""Logging for `quantgate serve`: one JSON object per line (or plain text), on stderr.

The access log (`quantgate.access`) writes one line per API request with its request id,
variant, task, route reason, status, timings and token counts; every line names the PID of
the process that wrote it (with `serve --workers`, the worker).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

ACCESS = "quantgate.access"


def configure(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            OrjsonFormatter(  # a third cheaper than the json module's, per line
                "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                rename_fields={
                    "asctime": "time",
                    "levelname": "level",
                    "name": "logger",
                    "process": "pid",  # which worker (serve --workers)
                },
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(_drop_color)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # quantgate.access replaces it
    logging.getLogger("httpx").setLevel(logging.WARNING)
    global access
    access = _json_access if fmt == "json" and _stderr_fd() is not None else _logged_access


def _logged_access(fields: dict[str, Any]) -> None:
    """One access line through `logging` (text format, or logging set up by someone else)."""
    logging.getLogger(ACCESS).info("request", extra=fields)


def _json_access(fields: dict[str, Any]) -> None:
    """The same line as the JSON formatter writes, made and written directly: one orjson call
    and one write(2) of a whole line (atomic on a pipe, so `serve --workers` lines never
    interleave), a twelfth of what the logging machinery costs per request."""
    if not logging.getLogger(ACCESS).isEnabledFor(logging.INFO):
        return
    now = time.time()
    second = int(now)
    if second != _stamp[0]:
        _stamp[:] = [second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))]
    line = {
        "time": f"{_stamp[1]},{int(now * 1000) % 1000:03d}",
        "level": "INFO",
        "logger": ACCESS,
        "pid": os.getpid(),
        "message": "request",
        **fields,
    }
    fd = _stderr_fd()
    if fd is not None:
        sys.stderr.flush()  # what logging wrote before stays before
        os.write(fd, orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))


_stamp: list[Any] = [None, ""]  # the second last written, formatted as logging does


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        return None


# one access line per API request (gateway/api/observe.py); `configure` picks the writer
access: Callable[[dict[str, Any]], None] = _logged_access


def _drop_color(record: logging.LogRecord) -> bool:
    """uvicorn adds an ANSI-coloured copy of its messages; JSON lines do not want it."""
    record.__dict__.pop("color_message", None)
    return True
