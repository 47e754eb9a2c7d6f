"""Chinese first, English second: every message in the code has an English translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "server"],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (ROOT / "server/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string}
    assert sorted(wanted - translated) == []


def test_login_page_in_english(client):
    resp = client.get("/login?lang=en")
    assert "Sign in" in resp.get_data(as_text=True)
    assert "登录" not in resp.get_data(as_text=True).split("<main", 1)[1]
