"""Storage: the only package that knows SQLite from PostgreSQL.

- `store`: engines, connection pragmas, sessions, run locks, the schema version.
- `bulk`: batched inserts (COPY on PostgreSQL), index rebuilds, cache sizes.
- `migrations`: the named schema steps, each self-contained.
- `backup`: copying a SQLite store to a file and back.
- `lookup`: read-only, quick look-ups for shell completion (rep names); no SQLAlchemy.
- `location`: where the default store lives.
- `reads`: independent read-only statements, side by side on PostgreSQL read sessions.
- `plans`: which of two statement shapes a backend runs best, where they differ.
"""
