"""The `nightwatch` command: the core's commands, with `demo` and `run` opening the window.

`nightwatch run SITE` and `nightwatch demo` open the console window; with `--headless` they run
the same pipeline, rules and alarms without one (`console.commands.run`). Qt is imported only
when a window opens, so `nightwatch check` and the other commands start without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from console import cli
from console.commands import demo as core_demo
from console.commands import export as core_export
from console.commands import run as core_run

if TYPE_CHECKING:
    from console.passwords import Password


class _RunWithWindow:
    """`nightwatch run SITE [--headless]`."""

    @staticmethod
    def register(sub: argparse._SubParsersAction) -> None:
        core_run.register(sub)
        sub.choices["run"].set_defaults(func=_run)


class _DemoWithWindow:
    """`nightwatch demo [--headless]`."""

    @staticmethod
    def register(sub: argparse._SubParsersAction) -> None:
        core_demo.register(sub)
        sub.choices["demo"].set_defaults(func=_demo)


class _ExportWithPdf:
    """`nightwatch export ... --format csv,jsonl,pdf`: the PDF report drawn with Qt."""

    @staticmethod
    def register(sub: argparse._SubParsersAction) -> None:
        core_export.register(sub)
        sub.choices["export"].set_defaults(renderer_factory=_pdf_report)


def _pdf_report() -> object:
    from ui.export_pdf import PdfReport  # Qt, only when a PDF is asked for

    return PdfReport()


def _run(args: argparse.Namespace) -> int:
    if args.headless:
        return core_run.run(args)
    return _window(args.site, args, db_url=args.db)


def _demo(args: argparse.Namespace) -> int:
    site = core_demo.prepare(args)
    if site is None:
        return 1
    if args.headless:
        return core_demo.run(args)
    db_url = args.db or core_demo.demo_db_url()
    if not core_demo.accounts_ready(db_url):
        return 1
    from console.passwords import Password

    name, _role, password = core_demo.DEMO_OPERATOR
    return _window(
        site,
        args,
        db_url=db_url,
        sign_in=(name, Password(password)),
        notice=core_demo.demo_accounts_notice(),
    )


def _window(
    site: Path,
    args: argparse.Namespace,
    *,
    db_url: str | None,
    sign_in: tuple[str, Password] | None = None,
    notice: str | None = None,
) -> int:
    from ui.app import run_console

    options = core_run.runtime_options(args)
    return run_console(site, options, db_url=db_url, sign_in=sign_in, notice=notice)


def main(argv: list[str] | None = None) -> int:
    return cli.main(
        argv,
        overrides={"run": _RunWithWindow, "demo": _DemoWithWindow, "export": _ExportWithPdf},
    )


if __name__ == "__main__":
    sys.exit(main())
