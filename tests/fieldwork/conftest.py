"""The sync fixtures (assignments, photos folder, record helpers) for the back-office page tests."""

from tests.sync.conftest import _photo_dir, assigned, field, login  # noqa: F401
