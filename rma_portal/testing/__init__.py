"""Test-run support shipped with the project (pytest plugin choosing the backends)."""
