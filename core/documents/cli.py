"""``yishi minutes export|verify``, ``yishi documents list|export`` and ``yishi ledger export``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from core.documents.spec import FORMATS
from core.errors import YishiError
from core.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    minutes = sub.add_parser("minutes", help="会议纪要 / minutes: export, verify").add_subparsers(metavar="ACTION")
    p = minutes.add_parser("export", help="write a meeting's minutes to a file (atomic: no half-written file)")
    p.add_argument("--meeting", type=int, required=True, help="meeting id")
    p.add_argument("--format", choices=FORMATS, default="pdf")
    p.add_argument("--out", required=True, help="output file")
    p.set_defaults(func=cmd_minutes_export, document="minutes")
    p = minutes.add_parser("verify", help="does a published PDF/DOCX/HTML match the meeting's record? exit 1 if not")
    p.add_argument("file", help="the document to check")
    p.set_defaults(func=cmd_verify)

    docs = sub.add_parser("documents", help="文档 / documents: list, export").add_subparsers(metavar="ACTION")
    p = docs.add_parser("list", help="documents the loaded plugins offer")
    p.set_defaults(func=cmd_documents_list)
    p = docs.add_parser("export", help="write any document of a meeting (minutes, gongshi, a plugin's)")
    p.add_argument("document", help="document id, e.g. minutes, gongshi")
    p.add_argument("--meeting", type=int, required=True, help="meeting id")
    p.add_argument("--format", choices=FORMATS, default="pdf")
    p.add_argument("--out", required=True, help="output file")
    p.set_defaults(func=cmd_minutes_export)

    ledger = sub.add_parser("ledger", help="台账 / ledgers: export").add_subparsers(metavar="ACTION")
    p = ledger.add_parser("export", help="write the ledger of topics or tasks as CSV or XLSX")
    p.add_argument("kind", choices=["topics", "tasks"])
    p.add_argument("--council", type=int, help="council id (default: every council)")
    p.add_argument("--from", dest="since", default="", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="until", default="", help="last day, YYYY-MM-DD")
    p.add_argument("--state", default="", help="state id, e.g. accepted, done")
    p.add_argument("--category", default="", help="topic category, e.g. 停车")
    p.add_argument("--unit", default="", help="responsible unit name, e.g. 物业")
    p.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    p.add_argument("--out", required=True, help="output file")
    p.set_defaults(func=cmd_ledger_export)


def cmd_minutes_export(args: argparse.Namespace) -> int:
    from core.cli import _with_db
    from core.minutes.export import export_document

    settings = Settings.from_env()
    out = Path(args.out)
    sha = asyncio.run(_with_db(settings, lambda plugins: export_document(
        plugins, settings, args.document, args.meeting, args.format, out)))
    print(f"已导出 / written: {out}")
    if sha:
        print(f"记录校验码 / record SHA-256: {sha}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from core.cli import _with_db
    from core.documents.verify import verify_document

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YishiError(f"无法读取文件 {path}：{exc.strerror} / cannot read {path}") from exc
    verdict = asyncio.run(_with_db(Settings.from_env(), lambda _plugins: verify_document(data)))
    print(verdict.message)
    if verdict.document_sha256:
        print(f"文件中的校验码 / in the file:  {verdict.document_sha256}")
    if verdict.record_sha256:
        print(f"当前记录的校验码 / the record: {verdict.record_sha256}")
    return 0 if verdict.ok else 1


def cmd_documents_list(args: argparse.Namespace) -> int:
    from core.documents.service import document_specs
    from core.plugins import load_plugins

    for spec in document_specs(load_plugins(Settings.from_env().plugin_registry)).values():
        approval = f"；审定后才可导出：{'、'.join(spec.needs_approval)}" if spec.needs_approval else ""
        practices = f"；仅用于做法：{'、'.join(spec.practices)}" if spec.practices else ""
        print(f"{spec.id}\t{spec.title}\t{'/'.join(spec.formats)}\t({spec.plugin}{approval}{practices})")
    return 0


def cmd_ledger_export(args: argparse.Namespace) -> int:
    from core.cli import _with_db
    from core.minutes.export import write_atomic
    from core.topics.ledger import LedgerError, export_ledger, parse_filters

    filters, errors = parse_filters({"council": "" if args.council is None else str(args.council),
                                     "from": args.since, "to": args.until, "state": args.state,
                                     "category": args.category, "unit": args.unit})
    if errors:
        raise YishiError("；".join(errors.values()))
    out = Path(args.out)

    async def work(_plugins: object) -> int:
        try:
            data, count = await export_ledger(args.kind, filters, args.format)
        except LedgerError as exc:
            raise YishiError(str(exc)) from exc
        write_atomic(out, data)
        return count

    count = asyncio.run(_with_db(Settings.from_env(), work))
    print(f"已导出 {count} 行 / {count} rows written: {out}", file=sys.stdout)
    return 0
