"""Logging for `quantgate serve`: one JSON object per line (or plain text), on stderr.

The access log (`quantgate.access`) writes one line per API request with its request id,
variant, task, route reason, status, timings and token counts; every line names the PID of
the process that wrote it (with `serve --workers`, the worker).
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.orjson import OrjsonFormatter


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


def _drop_color(record: logging.LogRecord) -> bool:
    """uvicorn adds an ANSI-coloured copy of its messages; JSON lines do not want it."""
    record.__dict__.pop("color_message", None)
    return True
