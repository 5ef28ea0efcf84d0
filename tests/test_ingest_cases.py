"""Messy exports that ingest and clean must handle, each run end to end.

Every input is built here with invented ids, names and numbers. Row numbers are data
rows counted from 1 below the header, as in ``documents.csv``.
"""

from __future__ import annotations

import codecs
import json
import re
import socket
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from painpoints import schema as S
from painpoints.errors import ModelNotFoundError
from painpoints.pipeline import run_analysis
from painpoints.readers import read_table
from painpoints.report import write_outputs
from painpoints.settings import MAX_UPLOAD_MB, MIN_TEXTS_FOR_TOPICS, AnalysisSettings
from painpoints.store import save_run

# Four complaint themes, ten tickets each, written without spaces as customers type.
THEMES = {
    "courier": [
        "快递寄出五天了物流还没更新", "物流特别慢快递到现在都没送来", "快递员说包裹丢了物流查不到",
        "物流停在分拣中心三天不动快递太慢", "快递一周才到物流速度太差", "物流显示已签收但快递根本没收到",
        "快递延误了物流客服也不回复", "物流信息一直不动快递到哪了", "快递送错地址物流也不处理",
        "物流太慢了快递等了十天",
    ],
    "refund": [
        "退款申请提交两周了还没处理", "退货已经签收退款还是没到账", "退款一直显示处理中没人管",
        "申请退款三次都被驳回", "退款承诺七天到账现在还没退款", "退款进度查不到也没人处理",
        "退款金额不对少退了一半", "商家拒绝退款理由不合理", "退款拖了一个月还没有到账",
        "退款流程太复杂一直没处理",
    ],
    "crash": [
        "应用一打开就闪退", "每次打开应用都闪退用不了", "升级新版本后打开就闪退", "应用启动闪退重装也没用",
        "打开应用闪退三次了", "手机打开应用直接闪退", "应用闪退登录不了账号", "昨天开始打开就闪退",
        "应用频繁闪退打不开", "一打开就闪退到桌面",
    ],
    "hotline": [
        "客服热线一直打不通", "客服电话永远占线", "打客服电话排队一小时没人接", "客服热线转人工打不通",
        "客服电话打了二十次都没接通", "人工客服电话没人接", "客服热线下午一直忙音", "客服电话根本打不进去",
        "打了一天客服电话都没通", "客服热线打不通投诉无门",
    ],
}
THEME_KEYWORDS = {"courier": {"物流", "快递"}, "refund": {"退款"}, "crash": {"闪退"}, "hotline": {"客服", "电话", "热线"}}


def _themed_rows() -> list[tuple[str, str, str]]:
    rows = []
    for theme_index, texts in enumerate(THEMES.values()):
        for index, text in enumerate(texts):
            number = theme_index * 10 + index + 1
            rows.append((f"GD{number:05d}", text, "是" if (index + theme_index) % 3 == 0 else "否"))
    return rows


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple], encoding: str = "utf-8") -> Path:
    frame = pd.DataFrame(rows, columns=list(header))
    frame.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n")
    return path


def _settings(tmp_path: Path, **changes) -> AnalysisSettings:
    return AnalysisSettings(embedding="hashing", cache_dir=tmp_path / "cache", **changes)


def _cli(tmp_path: Path, path: Path, *extra: str):
    from painpoints.cli import app

    return CliRunner().invoke(app, [
        "analyze", str(path), "--embedding", "hashing", "--out", str(tmp_path / "out"),
        "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "en", *extra,
    ])


def _all_keywords(result) -> list[str]:
    return [word.strip() for cell in result.topics["keywords"] for word in cell.split(",") if cell]


# Keywords of Chinese tickets written without spaces --------------------------------

def test_keywords_are_short_words(tmp_path, embedder):
    rows = _themed_rows()
    path = _write_csv(tmp_path / "tickets.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = run_analysis(path, _settings(tmp_path, min_topic_size=5), embedder=embedder)
    keywords = _all_keywords(result)
    texts = {text for _, text, _ in rows}
    assert len(result.topics[result.topics[S.TOPIC_ID] >= 0]) >= 3
    assert keywords
    assert not set(keywords) & texts
    assert max(len(word) for word in keywords) <= 4
    for theme, expected in THEME_KEYWORDS.items():
        assert set(keywords) & expected, f"no keyword of theme {theme} in {keywords}"
    for label in result.topics.loc[result.topics[S.TOPIC_ID] >= 0, "label"]:
        assert label not in texts


# Traditional and simplified characters with mixed white space ----------------------

def test_mixed_whitespace_gives_clean_keywords(tmp_path, embedder):
    traditional = {"物流": "物流", "快递": "快遞", "退款": "退款", "闪退": "閃退", "客服": "客服", "电话": "電話"}
    separators = [" ", "\u3000", "\t", "\n", "\r\n", "  \u3000 "]
    rows = []
    for index in range(30):
        theme = list(THEMES)[index % 3]
        words = re.findall(r"物流|快递|退款|闪退|客服|电话|[\u4e00-\u9fff]{2}", THEMES[theme][index % 10])
        if index % 2:
            words = [traditional.get(word, word) for word in words]
        separator = separators[index % len(separators)]
        rows.append((f"M{index:03d}", separator.join(words) + separator, "否" if index % 4 else "是"))
    path = _write_csv(tmp_path / "mixed.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    assert len(read_table(path)[0]) == 30
    result = run_analysis(path, _settings(tmp_path, min_topic_size=5), embedder=embedder)
    assert len(result.documents) == 30
    keywords = _all_keywords(result)
    assert keywords
    for word in keywords:
        assert word.strip() == word
        assert word
        assert re.search(r"[\w\u4e00-\u9fff]", word), word
        assert not re.fullmatch(r"[\W_]+", word), word


def test_t2s_switch_merges_scripts(tmp_path):
    path = _write_csv(tmp_path / "t.csv", ("反馈内容",), [("客服電話打不通",), ("客服电话打不通",)])
    from painpoints.clean import clean_documents
    from painpoints.ingest import load_feedback

    documents = load_feedback(path, _settings(tmp_path)).documents
    simplified = clean_documents(documents, simplify=True)
    assert simplified[S.TEXT].tolist() == ["客服电话打不通", "客服电话打不通"]
    assert simplified[S.STATUS].tolist() == ["", "duplicate"]
    assert clean_documents(documents)[S.STATUS].tolist() == ["", ""]


# One table in GBK, UTF-8 with BOM and GB18030 --------------------------------------

def _twelve_rows() -> list[tuple[str, str, str]]:
    return [(f"T{index:03d}", text, flag) for index, (_, text, flag) in enumerate(_themed_rows()[::3][:12], start=1)]


def test_three_encodings_same_table(tmp_path):
    header = ("工单编号", "反馈内容", "是否流失")
    rows = _twelve_rows()
    emoji_rows = [(ticket, text + ("😡" if index == 4 else ""), flag) for index, (ticket, text, flag) in enumerate(rows)]
    body = "\r\n".join(",".join(row) for row in [header, *rows]) + "\r\n"
    emoji_body = "\r\n".join(",".join(row) for row in [header, *emoji_rows]) + "\r\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(body.encode("gbk"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    gb18030 = tmp_path / "gb18030.csv"
    gb18030.write_bytes(emoji_body.encode("gb18030"))

    tables = {path.name: read_table(path) for path in (gbk, bom, gb18030)}
    expected = pd.DataFrame(rows, columns=list(header))
    for name, (frame, _) in tables.items():
        assert frame.columns[0] == "工单编号", name
        assert list(frame.columns) == list(header), name
    pd.testing.assert_frame_equal(tables["gbk.csv"][0], expected)
    pd.testing.assert_frame_equal(tables["bom.csv"][0], expected)
    pd.testing.assert_frame_equal(tables["gb18030.csv"][0], pd.DataFrame(emoji_rows, columns=list(header)))
    assert tables["gb18030.csv"][0].loc[4, "反馈内容"].endswith("😡")
    assert tables["gbk.csv"][1].encoding == "gb18030"
    assert tables["bom.csv"][1].encoding == "utf-8-sig"


# CRLF file with a bare CR and an LF inside quotes ----------------------------------

def test_crlf_with_quoted_line_breaks(tmp_path, embedder):
    raw = (
        "工单编号,反馈内容,是否流失\r\n"
        "Q1,快递太慢了,是\r\n"
        "Q2,退款没到账,否\r\n"
        '"Q3","第一行\r第二行\n第三行 闪退",否\r\n'
        "Q4,客服电话打不通,是\r\n"
        "Q5,应用打不开,否\r\n"
    )
    path = tmp_path / "crlf.csv"
    path.write_bytes(raw.encode("utf-8"))
    frame, _ = read_table(path)
    assert len(frame) == 5
    assert frame.loc[2, "反馈内容"] == "第一行\r第二行\n第三行 闪退"

    result = run_analysis(path, _settings(tmp_path), embedder=embedder)
    assert len(result.documents) == 5
    written = write_outputs(result, tmp_path / "out")
    again, _ = read_table(written["documents"])
    assert len(again) == 5
    assert again[S.TICKET_ID].tolist() == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert again[S.TICKET_ID].is_unique
    assert len(pd.read_csv(written["documents"], encoding="utf-8-sig", dtype=str)) == 5


# XLSX with blank texts and a number in the text column -----------------------------

def test_xlsx_blank_and_number_texts(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["工单编号", "客户ID", "反馈内容", "是否流失"])
    for index, (_, text, flag) in enumerate(_themed_rows()[:30], start=1):
        cell = text
        if index in (4, 7):
            cell = None if index == 4 else "   "
        if index == 9:
            cell = 12345
        sheet.append([f"X{index:03d}", f"{index:06d}", cell, flag])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    result = _cli(tmp_path, path, "--min-topic-size", "5")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    output = " ".join(result.output.split())
    assert "Rows not used for topics (2): 2 with no text (rows 4, 7)." in output
    documents = pd.read_csv(tmp_path / "out" / "documents.csv", dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
    assert len(documents) == 30
    assert documents.loc[8, S.TEXT] == "12345"
    assert documents.loc[8, S.STATUS] in ("topic", "unclustered")
    assert documents.loc[0, S.CUSTOMER_ID] == "000001"
    skipped = pd.read_csv(tmp_path / "out" / "rejected_rows.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert skipped[S.ROW_NUMBER].tolist() == ["4", "7"]
    assert skipped[S.REASON].tolist() == ["empty_text", "empty_text"]
    assert skipped["column"].tolist() == ["反馈内容", "反馈内容"]


# Emoji, filler and markup-only rows ------------------------------------------------

FILLER = ["👍", "好", "无", "。。。", "666", "ok", "   ", "N/A", "<br>&nbsp;"]


def test_filler_rows_are_no_content(tmp_path, embedder):
    rows = [(f"C{index:04d}", ticket, text, flag) for index, (ticket, text, flag) in enumerate(_themed_rows())]
    filler = [(f"F{index:04d}", f"FT{index:03d}", FILLER[index % len(FILLER)], "是" if index < 5 else "否")
              for index in range(20)]
    path = _write_csv(tmp_path / "filler.csv", ("客户ID", "工单编号", "反馈内容", "是否流失"), rows + filler)
    result = run_analysis(path, _settings(tmp_path, min_topic_size=5), embedder=embedder)

    documents = result.documents
    assert (documents[S.STATUS].iloc[40:] == "no_content").all()
    assert (documents[S.STATUS].iloc[:40] != "no_content").all()
    assert result.info["rows_by_status"]["no_content"] == 20
    assert sum(result.info["rows_by_status"].values()) == 60
    table = result.outcomes.to_frame().set_index(S.TOPIC_ID)
    assert table.at[S.NO_CONTENT_TOPIC, "customers"] == 20
    assert table.at[S.NO_CONTENT_TOPIC, "churned"] == 5
    assert (table["label"].str.strip() != "").all()
    assert (result.topics["label"].str.strip() != "").all()
    assert len(result.skipped_rows) == 20


# Too few usable texts for a topic model --------------------------------------------

def _distinct_texts(count: int) -> list[str]:
    texts = [text for texts in THEMES.values() for text in texts]
    return texts[:count]


def test_eight_rows_too_few_message(tmp_path):
    rows = [(f"E{index}", text, "是" if index % 2 else "否") for index, text in enumerate(_distinct_texts(8))]
    path = _write_csv(tmp_path / "eight.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = _cli(tmp_path, path)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "Traceback" not in output
    assert f"Only 8 distinct texts with content; at least {MIN_TEXTS_FOR_TOPICS} are needed" in output
    assert "Rows: 8 = topic 0 + unclustered 8" in output


def test_no_usable_rows_message(tmp_path):
    rows = [(f"E{index}", FILLER[index % len(FILLER)], "否") for index in range(9)]
    path = _write_csv(tmp_path / "empty.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = _cli(tmp_path, path)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "Traceback" not in output
    assert "No row has text left after cleaning: column '反馈内容' is empty or holds only filler" in output
    assert "no content 9" in output


@pytest.mark.parametrize("count", [MIN_TEXTS_FOR_TOPICS - 1, MIN_TEXTS_FOR_TOPICS, MIN_TEXTS_FOR_TOPICS + 1])
def test_minimum_texts_boundary(tmp_path, embedder, count):
    rows = [(f"B{index}", text, "是" if index % 3 == 0 else "否") for index, text in enumerate(_distinct_texts(count))]
    path = _write_csv(tmp_path / "boundary.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = run_analysis(path, _settings(tmp_path, min_topic_size=5), embedder=embedder)
    note = result.info["topics"]["note"]
    assert sum(result.info["rows_by_status"].values()) == count
    if count < MIN_TEXTS_FOR_TOPICS:
        assert note == "topics.too_few_texts"
        assert (result.documents[S.REASON] == "too_few_texts").all()
    else:
        assert note != "topics.too_few_texts"


# Texts that share no subject -------------------------------------------------------

UNRELATED = [
    "今天天气很好适合去公园散步", "我家的猫喜欢睡在键盘上", "股票市场昨天大跌了", "这本小说的结局让人意外",
    "周末打算去爬山看日出", "新买的咖啡机煮出来很香", "孩子的数学作业太难了", "楼下新开了一家火锅店",
    "地铁早高峰特别拥挤", "电影院的座椅很舒服", "冬天的羽绒服该洗了", "朋友送了我一盆多肉植物",
    "健身房的跑步机坏了一台", "钢琴老师明天请假", "邻居在装修声音很吵", "图书馆周一闭馆",
    "手机壳颜色和图片不一样", "公司年会抽到了电饭煲", "高速公路服务区的面很贵", "小区门口的路灯不亮",
    "外婆做的饺子最好吃", "足球比赛最后一分钟进球", "花园里的玫瑰开了", "驾照考试科目二没过",
    "宠物医院的收费不透明",
]


def test_unrelated_rows_stay_unclustered(tmp_path, embedder):
    rows = [(f"U{index:02d}", text, "是" if index % 5 == 0 else "否") for index, text in enumerate(UNRELATED)]
    path = _write_csv(tmp_path / "unrelated.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = run_analysis(path, _settings(tmp_path), embedder=embedder)
    assert result.info["topics"]["count"] == 0
    assert (result.documents[S.STATUS] == "unclustered").all()
    table = result.outcomes.to_frame()
    assert table[S.TOPIC_ID].tolist() == [S.UNCLUSTERED]
    assert table["customers"].iloc[0] == 25
    assert table["churned"].iloc[0] == 5
    assert table["churn_rate"].iloc[0] == pytest.approx(0.2)


# Local embedding model folders -----------------------------------------------------

def test_missing_model_folder_fails_fast(tmp_path):
    rows = [(f"E{index}", text, "否") for index, text in enumerate(_distinct_texts(5))]
    path = _write_csv(tmp_path / "few.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    missing = tmp_path / "models" / "my-local-model"
    started = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match="my-local-model"):
        run_analysis(path, AnalysisSettings(embedding=str(missing), cache_dir=tmp_path / "cache"))
    assert time.perf_counter() - started < 5


def _tiny_sentence_transformer(folder: Path) -> Path:
    """Save a randomly initialised two-layer BERT as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    try:  # sentence-transformers 6 moved the modules; older releases keep them in .models
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    base = folder / "bert"
    base.mkdir(parents=True)
    characters = sorted(set("".join(_distinct_texts(5))))
    (base / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]) + "\n",
                                    encoding="utf-8")
    BertTokenizerFast(vocab_file=str(base / "vocab.txt")).save_pretrained(base)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(characters), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(base)
    word = Transformer(str(base), max_seq_length=32)
    getter = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    model = SentenceTransformer(modules=[word, Pooling(getter())])
    model.save(str(folder / "tiny-model"))
    return folder / "tiny-model"


def test_local_model_runs_offline(tmp_path, monkeypatch):
    folder = _tiny_sentence_transformer(tmp_path / "models")
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rows = [(f"E{index}", text, "是" if index % 2 else "否") for index, text in enumerate(_distinct_texts(5))]
    path = _write_csv(tmp_path / "few.csv", ("工单编号", "反馈内容", "是否流失"), rows)
    result = run_analysis(path, AnalysisSettings(embedding=str(folder), cache_dir=tmp_path / "cache"))
    assert attempts == []
    assert result.info["embedding"]["model_id"] == "local:tiny-model"
    assert result.info["embedding"]["dimension"] == 16
    assert len(result.documents) == 5


# Texts a spreadsheet would run as formulas -----------------------------------------

FORMULA_TEXTS = [
    '=HYPERLINK("http://example.invalid","点我")', "+1 物流太慢", "-1 体验很差", "@SUM(A1:A3) 退款",
    "\t=1+1 闪退", "\r=2+2 客服", "＝1+1 全角等号", "＋86 全角加号", "－1 全角减号", "＠客服 全角at",
]


def test_formula_texts_export_literally(tmp_path, embedder):
    rows = [(f"Z{index:02d}", text, value, "是" if index % 2 else "否")
            for index, (text, value) in enumerate(zip(FORMULA_TEXTS, ["-3", "0", "2"] + ["1"] * 7))]
    path = _write_csv(tmp_path / "formula.csv", ("工单编号", "反馈内容", "月消费", "是否流失"), rows)
    result = run_analysis(path, _settings(tmp_path), embedder=embedder)
    written = write_outputs(result, tmp_path / "out")

    documents = pd.read_csv(written["documents"], encoding="utf-8-sig", keep_default_na=False)
    for text in documents[S.TEXT]:
        assert not text.startswith(("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")), text
    assert documents[S.TEXT].iloc[0] == "'" + FORMULA_TEXTS[0]
    assert documents[S.VALUE].tolist()[:3] == [-3, 0, 2]
    assert documents[S.VALUE].dtype.kind in "if"
    outcomes = pd.read_csv(written["topic_outcomes"], encoding="utf-8-sig")
    assert outcomes["churn_rate"].dtype == float

    sheet = load_workbook(written["xlsx"])["documents"]
    header = [cell.value for cell in sheet[1]]
    text_cells = [row[header.index(S.TEXT)] for row in sheet.iter_rows(min_row=2)]
    value_cells = [row[header.index(S.VALUE)] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in text_cells)
    assert text_cells[0].value == FORMULA_TEXTS[0]
    assert [cell.value for cell in value_cells[:3]] == [-3, 0, 2]
    assert all(cell.data_type == "n" for cell in value_cells)


# Large exports ---------------------------------------------------------------------

def test_fifty_mb_export_in_cli(tmp_path):
    padding = "，详情见附件说明" * 40
    texts = [text + padding for texts in THEMES.values() for text in texts]
    lines = ["工单编号,客户ID,反馈内容,是否流失"]
    size, index = 0, 0
    while size < 50 * 2**20:
        line = f"B{index:07d},K{index % 5000:05d},{texts[index % len(texts)]},{'是' if index % 7 == 0 else '否'}"
        lines.append(line)
        size += len(line.encode("utf-8")) + 2
        index += 1
    path = tmp_path / "big.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert path.stat().st_size >= 50 * 2**20
    assert MAX_UPLOAD_MB < 1024

    started = time.perf_counter()
    result = _cli(tmp_path, path, "--min-topic-size", "5")
    assert result.exit_code == 0, result.output
    assert f"Rows: {index} = " in " ".join(result.output.split())
    assert time.perf_counter() - started < 120


def test_upload_limit_matches_config():
    config = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
    import tomllib

    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    assert settings["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert settings["browser"]["gatherUsageStats"] is False


# Personal data ---------------------------------------------------------------------

PLANTED = {
    "email": "zhao.min.test@example.org",
    "mobile": "13987654321",
    "landline": "021-68881234",
    "id_number": "11010519491231002X",
    "card": "6222020200112233445",
    "ip": "192.168.31.77",
}


def _luhn_card(prefix: str) -> str:
    for last in "0123456789":
        candidate = prefix + last
        total = 0
        for position, char in enumerate(reversed(candidate)):
            digit = int(char)
            if position % 2 == 1:
                digit = digit * 2 - 9 if digit > 4 else digit * 2
            total += digit
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def test_planted_pii_absent_from_outputs(tmp_path, embedder):
    planted = dict(PLANTED, card=_luhn_card("622202020011223344"))
    rows = [(f"P{index:03d}", ticket, text, flag) for index, (ticket, text, flag) in enumerate(_themed_rows())]
    pii_text = (f"退款没到账，联系{planted['mobile']}或{planted['landline']}，邮箱{planted['email']}，"
                f"身份证{planted['id_number']}，卡号{planted['card']}，登录IP {planted['ip']}")
    rows[3] = (rows[3][0], rows[3][1], pii_text, rows[3][3])
    rows.append(("P900", "GD90000", pii_text, "maybe " + planted["mobile"]))
    path = _write_csv(tmp_path / "pii.csv", ("客户ID", "工单编号", "反馈内容", "是否流失"), rows)
    result = run_analysis(path, _settings(tmp_path, min_topic_size=5), embedder=embedder)
    assert result.documents[S.STATUS].iloc[-1] == "rejected"
    written = write_outputs(result, tmp_path / "out")
    store = tmp_path / "runs.duckdb"
    save_run(result, store)

    contents: dict[str, str] = {}
    for file in (tmp_path / "out").iterdir():
        if file.suffix == ".xlsx":
            with zipfile.ZipFile(file) as archive:
                contents[file.name] = "".join(archive.read(name).decode("utf-8", "replace")
                                              for name in archive.namelist())
        elif file.suffix == ".parquet":
            contents[file.name] = pd.read_parquet(file).astype(str).to_csv()
        else:
            contents[file.name] = file.read_bytes().decode("utf-8", "replace")
    connection = duckdb.connect(str(store), read_only=True)
    try:
        for (table,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall():
            contents[f"store:{table}"] = connection.execute(f"SELECT * FROM {table}").df().astype(str).to_csv()
    finally:
        connection.close()
    contents["store bytes"] = store.read_bytes().decode("latin-1")
    assert "rejected_rows.csv" in contents
    assert set(written) >= {"documents", "rejected_rows", "xlsx", "parquet", "run"}
    for name, content in contents.items():
        for kind, value in planted.items():
            assert value not in content, f"{kind} found in {name}"
    texts = json.dumps(result.documents[S.TEXT].tolist(), ensure_ascii=False)
    for placeholder in ("<EMAIL>", "<PHONE>", "<ID_NUMBER>", "<BANK_CARD>", "<IP>"):
        assert placeholder in texts
