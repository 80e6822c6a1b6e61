"""Writing a file so that a reader never sees half of it: export and backup both do."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from salespool.errors import FLAG, BadInput, Refused


def refuse_overwrite(path: Path, force: bool, option: str) -> None:
    """Refuse before any work: an existing file without `force`, a folder, a missing folder
    (`option` is the argument that names `path`)."""
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give a file name", option=option)
    if path.exists() and not force:
        raise Refused(f"{path} exists; add {FLAG} to overwrite it", advises="force")
    if not path.parent.is_dir():
        raise BadInput(f"{path.parent} does not exist", option=option)


@contextmanager
def replaced(dest: Path) -> Iterator[tuple[int, Path]]:
    """A private (0600) temporary file beside `dest`, open as `fd`, moved onto `dest` when
    the block ends and removed if it fails; the caller closes `fd`.

    A failed write never leaves a truncated file where a good one was. An OSError
    becomes one line naming `dest`.
    """
    try:
        # mkstemp creates the file with mode 0600, and os.replace keeps it.
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    except OSError as exc:
        raise BadInput(f"{dest}: cannot write: {exc.strerror}") from exc
    temp = Path(name)
    try:
        yield fd, temp
        os.replace(temp, dest)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise BadInput(f"{dest}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
