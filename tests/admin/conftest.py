"""Fixtures of the admin tests (defined in ``tests.admin.harness``)."""

from tests.admin.harness import app, auth, fast_hashes, people, portal, web

__all__ = ["app", "auth", "fast_hashes", "people", "portal", "web"]
