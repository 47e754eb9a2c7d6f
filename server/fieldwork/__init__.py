"""fieldwork capability: what the field app brings back (visit records, photos) and the back-office
page that shows it per visit."""

from __future__ import annotations

import os

from flask import Flask
from PIL import Image

MIB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def init_app(app: Flask) -> None:
    app.config.setdefault("PHOTO_DIR", os.environ.get("SPOTCHECK_PHOTO_DIR")
                          or os.path.join(app.instance_path, "photos"))
    app.config.setdefault("SYNC_MAX_RECORD_BYTES", _env_int("SPOTCHECK_SYNC_MAX_RECORD_BYTES", MIB))
    app.config.setdefault("SYNC_MAX_PHOTO_BYTES", _env_int("SPOTCHECK_SYNC_MAX_PHOTO_BYTES", 15 * MIB))
    app.config.setdefault("SYNC_MAX_CHUNK_BYTES", _env_int("SPOTCHECK_SYNC_MAX_CHUNK_BYTES", MIB))
    app.config.setdefault("PHOTO_MAX_PIXELS", _env_int("SPOTCHECK_PHOTO_MAX_PIXELS", 40_000_000))
    # Pillow's own decompression-bomb guard is process-wide: it warns above this many pixels and
    # raises above twice as many. The photo decoder turns the warning into a refusal too.
    Image.MAX_IMAGE_PIXELS = app.config["PHOTO_MAX_PIXELS"]

    from .cli import results_cli
    from .result_views import bp as results_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(results_bp)
    app.cli.add_command(results_cli)
