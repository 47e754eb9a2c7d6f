import re
import subprocess
from pathlib import Path

from server.audit.views import action_label

ROOT = Path(__file__).resolve().parents[2]


def _actions_in_code() -> set[str]:
    out = subprocess.run(["git", "grep", "-hoE", r"(record|Change)\(\s*\"[a-z_]+\.[a-z_]+\"", "--", "server"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\"([a-z_]+\.[a-z_]+)\"", out))


def test_every_audited_action_has_a_chinese_label(app):
    actions = _actions_in_code()
    assert len(actions) > 30
    unlabelled = sorted(a for a in actions if action_label(a) == a)
    assert unlabelled == []


def test_labels_read_as_chinese(app):
    assert action_label("object.create") == "新建检查对象"
    assert action_label("draw.final") == "完成抽取（结果锁定）"
