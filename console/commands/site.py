"""`nightwatch site apply SITE --user NAME [--from EDITED.yaml]`: check, keep, record and apply.

With `--from`, the edited copy replaces SITE the way the site editor saves: checked as
`nightwatch check` checks (refused with every problem, nothing written), the previous version
kept beside it (`SITE.1`, `SITE.2`, ...), written atomically. Without it, SITE (already edited
in place) is checked and the change recorded.

Who: `--user NAME` signs in like every other command (the password asked on the terminal, or
read from `--password-fd N`), and saving is the supervisor's (`configure` in the role table):
the same service layer and action as the console's site editor (`console.site_actions.ApplySite`),
so a refusal is said and audited the same way.

Recorded: who and the SHA-256 of before and after in `config_changes`, and a readable diff in
the audit log (`site.edit`). A console running on this database holds it (one console per
database), so then the command cannot sign in or record there: it checks the password and the
role against the accounts it can read (nothing written: a wrong password beside a running
console is said here but neither counted nor audited), leaves a note beside the file
(`.SITE.saved-by`), and the console's watch on its site file, which applies every valid change
within a few seconds without a restart, records it as NAME's.

Exit 0 when saved (or nothing changed), 1 when refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from console.commands.sign_in import (
    CommandRefused,
    add_user_arguments,
    ask_password,
    open_room,
    signed_in,
    station,
    store_url,
)


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
    apply.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="EDITED.yaml",
        help="the edited copy that replaces SITE (default: SITE was edited in place)",
    )
    add_user_arguments(apply)
    apply.add_argument(
        "--keep", type=int, default=10, help="previous versions kept beside SITE (default 10)"
    )
    apply.set_defaults(func=run_apply)


def run_apply(args: argparse.Namespace) -> int:
    from console.site_file import SiteFileError, read_site_text
    from console.store import Store, StoreError, StoreLockedError

    site: Path = args.site
    try:
        text = read_site_text(args.source if args.source is not None else site)
    except SiteFileError as exc:
        print("\n".join(exc.problems))
        return 1
    try:
        probe = Store(store_url(args))
    except StoreLockedError:
        return _beside_a_console(args, site, text)
    except StoreError as exc:
        print(f"nightwatch site apply: {exc}", file=sys.stderr)
        return 1
    probe.close()  # open_room takes it again, with the service layer over it
    try:
        with open_room(args) as (store, room), signed_in(args, room) as command:
            return _apply_signed(args, site, text, store, room, command)
    except CommandRefused as exc:
        print(f"nightwatch site apply: {exc}", file=sys.stderr)
        return 1


def _apply_signed(
    args: argparse.Namespace, site: Path, text: str, store: Any, room: Any, command: Any
) -> int:
    """No console runs on the database: signed in, through the service layer."""
    from console.site_actions import ApplySite, SiteDesk

    desk = SiteDesk(site, store, keep=args.keep)
    room.site_desk = desk
    try:
        if args.source is not None:
            report = command.ask(ApplySite(command.user, text)).value
            for line in (*report.problems, *report.warnings):
                print(line)
            if report.problems:
                print(f"{site}: not saved", file=sys.stderr)
                return 1
            if report.unchanged:
                print(f"{site}: already this text; nothing to do")
                return 0
            _flush(report.recorded)
            print(f"{site}: saved by {command.user}; the previous version is {report.backup}")
            print(report.diff or "(no textual change)")
        else:
            from console.roles import Act

            # edited in place: the role is checked by the service layer's own question, then
            # the change is recorded from the last recorded version
            room.accounts.authorize(command.user, Act.CONFIGURE)
            if not _record_in_place(site, text, command.user, store):
                return 1
    finally:
        desk.close()
    print(f"{site}: no console runs on this database; it takes effect at the next start")
    return 0


def _record_in_place(site: Path, text: str, user: str, store: Any) -> bool:
    from console.site_apply import check_site_text, readable_diff, record_change
    from console.store import list_config_changes

    checked = check_site_text(text, site)
    for line in (*checked.problems, *checked.warnings):
        print(line)
    if not checked.ok:
        print(f"{site}: refused", file=sys.stderr)
        return False
    before = _last_version(site, store.read(list_config_changes), text)
    diff = readable_diff(before, text, site.name)
    _flush(record_change(store, site, user, before, text, diff, "cli"))
    print(diff or "(no earlier version kept to compare with)")
    print(f"{site}: checked and recorded as {user}'s change")
    return True


def _beside_a_console(args: argparse.Namespace, site: Path, text: str) -> int:
    """A console holds the database: the password and role checked against the accounts read
    (nothing written), then the file saved with a note for the console's watch."""
    from console.accounts import AccountBook
    from console.clock import SystemClock
    from console.roles import Act, PermissionRefused
    from console.site_apply import _write_note, check_site_text, save_site
    from console.store import Store, StoreError
    from console.store.config_changes import digest

    try:
        password = ask_password(args.user, args.password_fd)
        with Store(store_url(args), read_only=True) as store:
            book = AccountBook.load(store, SystemClock())
            account = book.verify_read_only(args.user, password, station(), Act.CONFIGURE)
    except (CommandRefused, StoreError) as exc:
        print(f"nightwatch site apply: {exc}", file=sys.stderr)
        return 1
    except PermissionRefused as exc:
        print(f"nightwatch site apply: refused: {exc.reason}", file=sys.stderr)
        return 1
    user = account.name
    if args.source is not None:
        report = save_site(site, text, user, None, keep=args.keep, leave_note=True)
        for line in (*report.problems, *report.warnings):
            print(line)
        if report.problems:
            print(f"{site}: not saved", file=sys.stderr)
            return 1
        if report.unchanged:
            print(f"{site}: already this text; nothing to do")
            return 0
        print(f"{site}: saved by {user}; the previous version is {report.backup}")
        print(report.diff or "(no textual change)")
    else:
        checked = check_site_text(text, site)
        for line in (*checked.problems, *checked.warnings):
            print(line)
        if not checked.ok:
            print(f"{site}: refused; a running console keeps its site", file=sys.stderr)
            return 1
        _write_note(site, user, digest(text))
        print(f"{site}: checked as {user}'s change")
    print(
        f"{site}: a console runs on this database: its watch on the site file applies "
        "the change within a few seconds and records it as yours",
    )
    return 0


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
