"""The record form PDF (联合抽查情况记录表): every section of the synced record is in the text the
PDF carries (Chinese included, extracted with pypdf), the font is embedded, access follows the
visit page's confidentiality, and each generation is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from tests.documents.conftest import (
    app_record,
    jpeg_bytes,
    pdf_text,
    png_data_url,
    push,
    sha,
    upload,
)


def _get(client, visit_id: int):
    return client.get(f"/visits/{visit_id}/record-form.pdf")


def _fonts(reader) -> list:
    out = []
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font") or {}
        for ref in fonts.values():
            out.append(ref.get_object())
    return out


def _embedded(font) -> bool:
    """True when the font (or its descendant CID font) carries the font file."""
    fonts = [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]
    for f in fonts:
        desc = f.get("/FontDescriptor")
        if desc is not None and any(k in desc.get_object() for k in ("/FontFile2", "/FontFile", "/FontFile3")):
            return True
    return False


def _images(reader) -> list[tuple[int, int]]:
    """The (width, height) of every image XObject the pages draw."""
    out = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject")
        for ref in (xobjects.get_object() if xobjects is not None else {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                out.append((int(obj["/Width"]), int(obj["/Height"])))
    return out


def test_every_section_of_the_record_is_printed(documented):
    w = documented
    resp = _get(w.client_a, w.v_z.id)
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("inline; filename=") and "filename*=UTF-8''" in disposition
    assert disposition.split('"')[1].isascii()
    text, reader = pdf_text(resp.data)
    obj = w.obj_z
    expected = [
        "市场监管领域部门联合抽查情况记录表", w.task.name, w.task.code, obj.name, obj.code, "一路1号",
        w.a.name, w.b.name,  # each department
        "食品经营许可", "计量器具",  # each check item
        "是否亮照经营", "从业人员数", "3人", "计量器具检定", "已检定",  # questions and answers
        "发现问题已责令改正", "未发现问题",  # result labels
        "书面检查", "实地检查",  # methods
        "营业执照未悬挂于经营场所醒目位置", "当场责令悬挂营业执照", "《市场主体登记管理条例》第三十六条",
        "责令改正（书面）", "未在醒目位置悬挂营业执照", "拍摄店招和证照", "店主配合检查",
        "王五", "0391-1234567", "对检查结果无异议，已当场整改", "张三（法定代表人）",
        "insp_a1姓名", "insp_b1姓名", w.i_a1.certificate_no, w.i_b1.certificate_no, "组长",
        "2026-12-02 10:00:00",  # the check-in 02:00Z in Beijing time
        "纬度 35.08", "2026-12-02 10:10",  # a photo's capture time in Beijing time
        "未汇总", "未审核", "第 1 页",
    ]
    expected += [h[:16] for h in w.photos]
    missing = [s for s in expected if s not in text]
    assert not missing, missing
    assert "02:00:00" not in text.replace("10:00:00", "")  # no UTC time printed as such
    assert "风险" not in text  # the risk class is internal
    pages = len(reader.pages)
    assert 2 <= pages <= 10
    assert f"共 {pages} 页" in text
    fonts = _fonts(reader)
    assert fonts and any(_embedded(f) for f in fonts), "the CJK font is embedded"
    # each photo's stored thumbnail is embedded (400×300 and 300×400 originals: 320 px on the long side)
    images = _images(reader)
    assert len(images) >= len(w.photos)
    assert {(320, 240), (240, 320)} <= set(images), images
    assert "缩略图缺失" not in text and "照片尚未上传" not in text
    # the footer names each section's version and content hash
    from server.fieldwork.services import latest_versions

    for record in latest_versions([w.v_z.id]).values():
        assert record.content_sha256 in text.replace("\n", "")


def test_each_generation_is_audited_as_a_confidential_view(documented):
    w = documented
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert _get(w.client_a, w.v_z.id).status_code == 200
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "task.view_confidential")
                                 .order_by(AuditEntry.seq.desc())).scalars().all()
    assert entries and entries[0].after["what"] == f"record_form:{w.v_z.id}"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before + 1


def test_refusal_statement_with_the_inspectors_signature(field, login):
    client = login(field.u_a1)
    witness = jpeg_bytes(41)
    upload(client, witness)
    content = app_record(field.v_z, field.a.id)
    content["business"].update(mode="refusal", name="", role="", signature=None, signed_at=None)
    content["business"]["refusal"].update(
        reason="负责人称需请示总公司", at="2026-12-02T02:40:00.000Z", place="张三食品有限公司店内",
        witness_name="社区网格员赵六", witness_photo=sha(witness),
        statement="被检查对象拒绝在检查记录上签字，检查人员当场说明并由见证人见证。",
        inspector_signature=png_data_url((200, 0, 0)), inspector_signed_at="2026-12-02T02:41:00.000Z",
        inspector_id=field.i_a1.id)
    content["photos"] = [{"sha256": sha(witness), "purpose": "witness", "captured_at": "2026-12-02T02:40:30.000Z"}]
    from tests.documents.conftest import push as push_record

    push_record(client, field.v_z, field.a.id, content, photos=[sha(witness)])
    text, _reader = pdf_text(_get(client, field.v_z.id).data)
    for shown in ("拒绝签字", "负责人称需请示总公司", "张三食品有限公司店内", "社区网格员赵六",
                  "被检查对象拒绝在检查记录上签字，检查人员当场说明并由见证人见证。", "2026-12-02 10:40",
                  "2026-12-02 10:41", sha(witness)[:16]):
        assert shown in text, shown
    assert "当场签字确认" not in text  # b's section was never pushed: only a's refusal is printed
    assert field.b.name not in text.split("签到时间与地点")[1].split("一、")[0]  # no check-in row for b
    assert f"二、{field.b.name}" in text and "该部门尚未同步检查记录" in text  # said, not left out


def test_absent_party_prints_the_evidence_and_no_signature(field, login):
    client = login(field.u_a1)
    evidence = jpeg_bytes(51)
    upload(client, evidence)
    content = app_record(field.v_z, field.a.id, result="unreachable", evidence_notes="经营场所大门紧闭，张贴停业告示",
                         photos=[{"sha256": sha(evidence), "purpose": "evidence",
                                  "captured_at": "2026-12-02T02:05:00.000Z"}])
    content["business"].update(mode="absent", name="", role="", signature=None, signed_at=None)
    content["party"] = {"liaison_name": "", "liaison_phone": "", "opinion": ""}
    push(client, field.v_z, field.a.id, content, photos=[sha(evidence)])
    text, _reader = pdf_text(_get(client, field.v_z.id).data)
    for shown in ("通过登记的住所（经营场所）无法联系", "无法联系（无人在场）", "经营场所大门紧闭，张贴停业告示",
                  "1 张", sha(evidence)[:16]):
        assert shown in text, shown
    assert "当场签字确认" not in text and "拒签理由" not in text


def test_consolidated_versions_and_each_departments_review(documented, login):
    """After consolidation the form prints the consolidated versions (not a later one), the
    leader's summary and each department's review."""
    from server.fieldwork.services import latest_versions
    from server.review.models import Consolidation, ResultStatus, SectionResult

    w = documented
    latest = latest_versions([w.v_z.id])
    rec_a, rec_b = latest[(w.v_z.id, w.a.id)], latest[(w.v_z.id, w.b.id)]
    cons = Consolidation(visit_id=w.v_z.id, round=1, record_ids={str(w.a.id): rec_a.id, str(w.b.id): rec_b.id},
                         summary="两部门检查意见一致，责令改正已完成", consolidated_by_id=w.u_a1.id,
                         consolidated_at=datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    db.session.add(cons)
    db.session.flush()
    common = dict(visit_id=w.v_z.id, task_id=w.task.id, object_id=w.obj_z.id, consolidation_id=cons.id,
                  visited_on=date(2026, 12, 2), result_due=date(2026, 12, 30))
    db.session.add_all([
        SectionResult(department_id=w.a.id, record_id=rec_a.id, status=ResultStatus.ACCEPTED,
                      result_codes=["rectified"], problem=True, reviewed_by_id=w.u_a2.id,
                      reviewed_at=datetime(2026, 12, 4, 2, 0, tzinfo=UTC), entered_on=date(2026, 12, 4),
                      **common),
        SectionResult(department_id=w.b.id, record_id=rec_b.id, status=ResultStatus.RETURNED,
                      result_codes=["no_problem"], reviewed_by_id=w.u_b1.id, review_comment="请补充检定证书编号",
                      reviewed_at=datetime(2026, 12, 4, 3, 0, tzinfo=UTC), **common),
    ])
    db.session.commit()
    # a corrected version of the returned section is not what was consolidated
    client_b = login(w.u_b1)
    push(client_b, w.v_z, w.b.id, app_record(w.v_z, w.b.id, notes="合并之后的新版本"), base_version=1)
    text, _reader = pdf_text(_get(login(w.u_a1), w.v_z.id).data)
    for shown in ("两部门检查意见一致，责令改正已完成", "第 1 轮", "2026-12-03 09:00", "已审核通过", "insp_a2",
                  "2026-12-04 10:00", "已退回修改", "请补充检定证书编号"):
        assert shown in text, shown
    assert "合并之后的新版本" not in text
    assert rec_b.content_sha256 in text.replace("\n", "")


def test_no_record_yet_is_404_and_says_so(field, login):
    client = login(field.u_a1)
    resp = _get(client, field.v_a.id)
    assert resp.status_code == 404
    assert resp.mimetype != "application/pdf"
    assert "尚无已同步的检查记录" in resp.get_data(as_text=True)
    resp = client.get(f"/visits/{field.v_a.id}/record-form.pdf", headers={"Accept": "application/json"})
    assert resp.get_json()["error"]["code"] == "no_record"


def test_an_inspector_of_another_team_is_refused(documented, login):
    w = documented
    client = login(w.u_a2)  # leader of team 2
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    for url in (f"/visits/{w.v_z.id}/record-form.pdf", f"/visits/{w.v_z.id}/notice.pdf"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert resp.mimetype != "application/pdf"
        assert w.obj_z.name not in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_signature_image_is_never_decoded_beyond_its_limits(app):
    """A tiny PNG that claims 25 million pixels, and garbage, print a note instead of an image."""
    import base64
    import io

    from PIL import Image
    from reportlab.platypus import Image as RLImage
    from reportlab.platypus import Paragraph

    from server.documents.common import data_url_image, styles

    buf = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buf, "PNG")
    bomb = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    with app.test_request_context():
        st = styles()
        assert isinstance(data_url_image(png_data_url(), 100, 50, st), RLImage)
        for bad in (bomb, "data:image/png;base64,AAAA", "data:text/html;base64,PGI+", None, "x" * 2_000_000):
            flow = data_url_image(bad, 100, 50, st)
            assert isinstance(flow, Paragraph), bad if bad is None else bad[:40]


def test_long_texts_wrap_across_pages_and_old_drafts_print(field, login):
    """A 10,000-character problem description (the schema's limit) and markup-like text print in
    full over several pages; a department whose only version is an old-format draft prints too."""
    client = login(field.u_a1)
    long_text = ("经营场所内冷藏柜温度记录缺失<b>&amp;" + "问题描述" * 40 + "。\n") * 55
    long_text = long_text[:10_000]
    content = app_record(field.v_z, field.a.id, result="rectified")
    content["results"][str(field.item_a.id)].update(problems=long_text, handling="责令改正", legal_basis="依据",
                                                    follow_up="order_rectify")
    push(client, field.v_z, field.a.id, content)
    from tests.documents.conftest import put_record, record_body
    from tests.sync.conftest import new_uuid

    client_b = login(field.u_b1)
    resp = put_record(client_b, field.v_z.id, new_uuid(), record_body(field.b.id))  # schema 1 draft
    assert resp.status_code == 201, resp.get_json()
    resp = _get(client_b, field.v_z.id)
    assert resp.status_code == 200
    text, reader = pdf_text(resp.data)
    assert len(reader.pages) >= 3
    flat = text.replace("\n", "")
    assert flat.count("问题描述") >= 2000  # nothing cut
    assert "<b>&amp;" in flat  # shown as written, not taken as markup
    assert "旧格式记录" in text and "未完成（草稿）" in text and "正常" in text


def test_an_odd_old_format_draft_still_prints(field, login):
    """Schema 1 is loose (any JSON object): odd shapes print as '—' instead of failing."""
    from tests.documents.conftest import put_record, record_body
    from tests.sync.conftest import new_uuid

    client = login(field.u_a1)
    odd = {"results": [1, 2], "answers": "x", "photos": {"a": 1}, "business": [1], "inspectors": "x",
           "check_in": "now", "party": 5, "measures": [], "notice": 3, "findings": {"k": "v"}}
    resp = put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, content=odd))
    assert resp.status_code == 201, resp.get_json()
    resp = _get(client, field.v_z.id)
    assert resp.status_code == 200
    text, _reader = pdf_text(resp.data)
    assert "旧格式记录" in text and field.obj_z.name in text and "食品经营许可" in text
