"""`nightwatch site apply SITE --user NAME [--from EDITED.yaml]`: check, keep, record and apply.

With `--from`, the edited copy replaces SITE the way the site editor saves: checked as
`nightwatch check` checks (refused with every problem, nothing written), the previous version
kept beside it (`SITE.1`, `SITE.2`, ...), written atomically. Without it, SITE (already edited
in place) is checked and the change recorded.

Recorded: who (`--user`) and the SHA-256 of before and after in `config_changes`, and a readable
diff in the audit log (`site.edit`). A console running on this database holds it (one console
per database), so then the command cannot record there itself: it leaves a note beside the file
(`.SITE.saved-by`) and the console's watch on its site file, which applies every valid change
within a few seconds without a restart, records it as NAME's. No other signal is needed: the
file watch is how a running console hears of it (`nightwatch run` watches its site file).

Exit 0 when saved (or nothing changed), 1 when refused. Permission: saving is the supervisor's
(issue 21); until sign-in reaches the command line, `--user` names who, on trust.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("site", help="apply an edited site file (checked, kept, recorded)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    apply = verbs.add_parser(
        "apply",
        help="check an edited site file, keep the previous version, record who, and let a "
        "running console pick it up",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    apply.add_argument("site", type=Path, metavar="SITE", help="the site file the console runs")
    apply.add_argument("--user", required=True, metavar="NAME", help="who made the change")
    apply.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="EDITED.yaml",
        help="the edited copy that replaces SITE (default: SITE was edited in place)",
    )
    apply.add_argument("--db", metavar="URL", help="the console's store (default: its usual one)")
    apply.add_argument(
        "--keep", type=int, default=10, help="previous versions kept beside SITE (default 10)"
    )
    apply.set_defaults(func=run_apply)


def run_apply(args: argparse.Namespace) -> int:
    from console.site_apply import check_site_text, readable_diff, record_change, save_site
    from console.site_file import SiteFileError, read_site_text
    from console.store import Store, StoreError, StoreLockedError, list_config_changes

    site: Path = args.site
    user = str(args.user).strip()
    if not user or len(user) > 64:
        print("nightwatch site apply: --user needs a name of 1 to 64 characters", file=sys.stderr)
        return 2
    store: Store | None = None
    console_running = False
    try:
        store = Store(args.db)
    except StoreLockedError:
        console_running = True
    except StoreError as exc:
        print(f"nightwatch site apply: {exc}", file=sys.stderr)
        return 1
    try:
        if args.source is not None:
            try:
                text = read_site_text(args.source)
            except SiteFileError as exc:
                print("\n".join(exc.problems))
                return 1
            report = save_site(site, text, user, store, keep=args.keep, leave_note=console_running)
            for line in (*report.problems, *report.warnings):
                print(line)
            if report.problems:
                print(f"{site}: not saved", file=sys.stderr)
                return 1
            if report.unchanged:
                print(f"{site}: already this text; nothing to do")
                return 0
            _flush(report.recorded)
            print(f"{site}: saved by {user}; the previous version is {report.backup}")
            print(report.diff or "(no textual change)")
        else:
            # edited in place: check it, then record the change from the last recorded version
            try:
                text = read_site_text(site)
            except SiteFileError as exc:
                print("\n".join(exc.problems))
                return 1
            checked = check_site_text(text, site)
            for line in (*checked.problems, *checked.warnings):
                print(line)
            if not checked.ok:
                print(f"{site}: refused; a running console keeps its site", file=sys.stderr)
                return 1
            if console_running:
                from console.site_apply import _write_note
                from console.store.config_changes import digest

                _write_note(site, user, digest(text))
            else:
                assert store is not None
                before = _last_version(site, store.read(list_config_changes), text)
                diff = readable_diff(before, text, site.name)
                _flush(record_change(store, site, user, before, text, diff, "cli"))
                print(diff or "(no earlier version kept to compare with)")
            print(f"{site}: checked and recorded as {user}'s change")
        if console_running:
            print(
                f"{site}: a console runs on this database: its watch on the site file applies "
                "the change within a few seconds and records it as yours",
            )
        else:
            print(f"{site}: no console runs on this database; it takes effect at the next start")
        return 0
    finally:
        if store is not None:
            store.close()


def _flush(futures: Any) -> None:
    for future in futures:
        future.result(timeout=30)


def _last_version(site: Path, changes: list[Any], text: str) -> str | None:
    """The text of the newest kept version whose digest is the last recorded one, if any."""
    from console.site_apply import versions_beside
    from console.site_file import SiteFileError, read_site_text
    from console.store.config_changes import digest

    what = f"site:{site}"
    recorded = [c.after_digest for c in changes if c.what == what]
    if not recorded:
        return None
    for candidate in versions_beside(site):
        try:
            old = read_site_text(candidate)
        except SiteFileError:
            continue
        if digest(old) == recorded[-1] and old != text:
            return old
    return None
