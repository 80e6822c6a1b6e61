"""Where the default store lives, apart from store.py so that finding it loads no SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    """`salespool.db` in the user's data directory."""
    return Path(platformdirs.user_data_dir("salespool", appauthor=False)) / "salespool.db"
