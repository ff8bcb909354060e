"""Read an XLSX sheet row by row in a helper process.

openpyxl's read-only mode streams the sheet (memory stays flat however long the file), but its
XML parsing costs about as much CPU as validating and writing the rows.  Parsing runs in a
separate process that hands chunks of rows to the importer through a bounded queue, so a 2-core
machine reads and writes at the same time while memory stays bounded.

This module imports nothing from Django: the helper process is started with ``spawn``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from typing import Any

CHUNK = 500
DONE = "__done__"


def _reader(path: str, q: Any, parent: int) -> None:
    from openpyxl import load_workbook

    def put(item: Any) -> bool:
        while True:
            try:
                q.put(item, timeout=1)
                return True
            except queue.Full:
                if os.getppid() != parent:  # the importer died: stop quietly
                    return False

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        chunk: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            chunk.append((number, list(row)))
            if len(chunk) >= CHUNK:
                if not put(chunk):
                    return
                chunk = []
        wb.close()
        if chunk and not put(chunk):
            return
        put(DONE)
    except Exception as exc:  # noqa: BLE001 - reported to the importer as a bad file
        put(("error", f"{type(exc).__name__}: {exc}"))


def iter_xlsx_rows(path: str) -> Iterator[tuple[int, list[Any]]]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue(maxsize=8)
    proc = ctx.Process(target=_reader, args=(path, q, os.getpid()), daemon=True)
    proc.start()
    try:
        while True:
            try:
                item = q.get(timeout=5)
            except queue.Empty:
                if not proc.is_alive():
                    raise ValueError("XLSX 读取进程意外退出 / the XLSX reader stopped unexpectedly") from None
                continue
            if item == DONE:
                return
            if isinstance(item, tuple) and item and item[0] == "error":
                raise ValueError(f"不是有效的 XLSX 文件 / not a valid XLSX file ({item[1]})")
            yield from item
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        q.close()
