"""salespool: a sales team's customer book and public pool (公海)."""

__version__ = "0.1.0"
