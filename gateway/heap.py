"""What start-up leaves behind: kept out of the collector's sight, and freed memory returned.

Start-up builds objects that live as long as the app (the tokenizers' tables, the classifier,
the profile). `settle()` runs once it is done:
- `gc.freeze()` moves them out of the garbage collector's sight: a full collection no longer
  walks ~85k objects (~28 ms, a stall every few hundred requests: bench/overhead.py's tail);
- `malloc_trim(0)` gives the heap's free pages back to the system. Loading the demo's
  tokenizer parses 262k pieces and 513k merges into strings that are freed once it is built,
  but glibc keeps their pages: measured alone, the tokenizer left 352 MB resident, 68 MB
  after the trim. Without glibc (musl, macOS) there is nothing to call, and nothing is done.
"""

from __future__ import annotations

import ctypes
import gc


def settle() -> bool:
    """Freeze what exists and return the heap's free pages; whether any pages went back."""
    gc.collect()
    gc.freeze()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    return bool(trim(0))
