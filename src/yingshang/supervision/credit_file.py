"""Reading a credit-list file (CSV in UTF-8 or GBK, or XLSX): the rows under a heading line, each cell
by column; and turning its cells into values.  No database access — the services validate the rows
against the registry and the lists."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from yingshang.core.errors import ValidationFailed

#: Column headings, first the one our template writes.
COLUMNS: dict[str, list[str]] = {
    "uscc": ["统一社会信用代码", "信用代码", "uscc"],
    "kind": ["名单类型", "类型", "名单", "kind"],
    "reason": ["认定原因", "列入原因", "原因", "reason"],
    "source": ["认定部门", "认定机关", "来源", "source"],
    "listed_on": ["认定日期", "列入日期", "listed_on"],
    "expires_on": ["有效期至", "有效期", "截止日期", "expires_on"],
    "document_number": ["文书号", "认定文书号", "文书编号", "document_number"],
}
REQUIRED = ("uscc", "kind", "reason", "source", "listed_on")
LABELS = {f: hs[0] for f, hs in COLUMNS.items()}
_HEADING_TO_FIELD = {h.lower(): f for f, hs in COLUMNS.items() for h in hs}
MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024
UNTIL_REMOVED = {"", "长期", "永久", "无", "—", "-", "/"}
_DATE_CN = re.compile(r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class Row:
    number: int  # the line or sheet row, as the user sees it (the heading is row 1)
    cells: dict[str, Any]


class CellError(Exception):
    def __init__(self, message: str, message_en: str):
        super().__init__(message)
        self.message, self.message_en = message, message_en


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value: Any) -> dt.date | None:
    """A date from a cell: an XLSX date, ``2025-01-31``, ``2025/1/31``, ``2025年1月31日``; None when empty."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = text(value)
    if s in UNTIL_REMOVED:
        return None
    m = _DATE_CN.match(s)
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])) if m else dt.date.fromisoformat(s)
    except ValueError:
        raise CellError("日期格式应为 2025-01-31", "a date must look like 2025-01-31") from None


def _raw_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    """Numbered rows through the registry importer's reader (XLSX, or CSV in UTF-8 or GBK)."""
    from yingshang.enterprises.importer import read_rows as read_table

    name = "credit.xlsx" if data[:4] == b"PK\x03\x04" else "credit.csv"
    try:
        return list(read_table(io.BytesIO(data), name))
    except UnicodeDecodeError:
        raise ValidationFailed("文件编码无法识别（应为 UTF-8 或 GBK 的 CSV，或 XLSX）",
                               "unknown encoding (CSV in UTF-8 or GBK, or XLSX)", field="file") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable upload is the user's error
        raise ValidationFailed("无法读取 XLSX 文件", f"cannot read the XLSX file ({type(exc).__name__})",
                               field="file") from None


def read_rows(data: bytes) -> list[Row]:
    """The file's data rows with their numbers; ValidationFailed (field ``file``) for a file that is
    empty, unreadable, too long or lacks a required column."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed("文件不能超过 20 MB", "the file is larger than 20 MB", field="file")
    raw = _raw_rows(data)
    while raw and all(text(v) == "" for v in raw[0][1]):
        raw.pop(0)
    if not raw:
        raise ValidationFailed("文件为空", "the file is empty", field="file")
    header: dict[int, str] = {}
    for i, heading in enumerate(raw[0][1]):
        found = _HEADING_TO_FIELD.get(text(heading).lower())
        if found and found not in header.values():
            header[i] = found
    missing = [LABELS[f] for f in REQUIRED if f not in header.values()]
    if missing:
        raise ValidationFailed(f"文件缺少列：{'、'.join(missing)}（第 {raw[0][0]} 行应为列名）",
                               f"missing columns: {', '.join(missing)} (row 1 must hold the headings)", field="file")
    out: list[Row] = []
    for number, values in raw[1:]:
        if all(text(v) == "" for v in values):
            continue
        out.append(Row(number, {f: values[i] if i < len(values) else None for i, f in header.items()}))
    if len(out) > MAX_ROWS:
        raise ValidationFailed(f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows per file", field="file")
    return out


def template_xlsx() -> bytes:
    """An empty import file: the headings only."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "信用红黑名单"
    ws.append([hs[0] for hs in COLUMNS.values()])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
