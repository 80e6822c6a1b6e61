"""The operations. Each takes a Session and plain values and returns plain data."""
