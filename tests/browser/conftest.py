"""Browser test fixtures live in tests/conftest.py (one Playwright instance for the whole run)."""
