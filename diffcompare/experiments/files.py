"""Files of a results folder: atomic writes, and CSV rows that read back as they were written.

Every file is written to a temporary file in the same directory and renamed
(``os.replace``), so no reader sees half a file; the temporary file's name is
``.<name>.<random>.tmp`` (:data:`TEMP_GLOB` finds those an interrupted writer
left). A CSV's numbers come back as numbers and its empty cells as None.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

#: the files of one experiment's folder: final data, partial data and its state, provenance, completion marker
DATA, PARTIAL, STATE, META, COMPLETE = "data.csv", "data.partial.csv", ".partial.json", "meta.json", ".complete"
#: the temporary files of :func:`atomic_write` (``.<name>.<random>.tmp``)
TEMP_GLOB = ".*.tmp"


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 less the process's umask (0o644 under the usual
    umask 022). ``tempfile.mkstemp`` makes its files 0o600 whatever the umask; results are for sharing."""
    umask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename; the file
    gets the mode the umask gives a new file (:func:`file_mode`), as ``open()`` would."""
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def csv_text(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell_text(v) for k, v in row.items()})
    return buf.getvalue()


def cell_text(value) -> str:
    """How :func:`csv_text` writes a value: floats exactly (``repr``), None as an empty cell."""
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return ""
    return str(value)


def _parse(text: str):
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV this runner wrote, numbers as numbers, empty cells as None."""
    with open(path, newline="") as fh:
        return [parse_row(row) for row in csv.DictReader(fh)]


def parse_row(raw: dict) -> dict:
    """A row of cells (strings) as numbers, booleans, None and strings."""
    return {k: _parse(v) for k, v in raw.items()}


# ---------------------------------------------------------------- state an interrupted run left


class ResultsWarning(UserWarning):
    """A results folder held something unreadable; the run ignores it and measures again."""


def remove_temporaries(folder: Path) -> list[str]:
    """Delete the temporary files an interrupted :func:`atomic_write` left in ``folder``; their names."""
    removed = []
    for path in Path(folder).glob(TEMP_GLOB):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
            removed.append(path.name)
    return removed


def read_json_object(path: Path) -> dict | None:
    """The JSON object stored in ``path``; None when the file is missing or is not a JSON object
    (garbage, binary, truncated, a list): unreadable state counts as no state."""
    try:
        value = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_cells(path: Path) -> list[dict] | None:
    """The rows of a CSV as written, cells as strings; None when the file is missing or unreadable.

    A row with too few cells has None values, one with too many a None key
    (as :class:`csv.DictReader` reads them): the caller decides what to keep.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
