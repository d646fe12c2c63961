"""`nightwatch demo`: the console on a generated demo museum with live demo cameras.

The demo museum (floor plan, galleries, protected artworks, zones, guards and 64 cameras playing
clips cut from real footage of people walking) is built once into the user's cache by
`resources.demo_museum`, imported here only when the demo is asked for (the core never imports
`resources`). It is then watched like any site: in the window (`nightwatch demo`, see ui.cli) or
headless (`nightwatch demo --headless`), with its alarms in a database of its own, so a demo never
mixes with a museum's records. The museum is closed on the day the demo is built, so after-hours
alarms arise as well as proximity ones.

The demo's database has one account per role, made at its first start through the same service
layer as any account (the first supervisor, who adds the others), so a newcomer can try every
role without setting anything up. Their passwords are printed here, in the README and in the
demo window's title: they are for the demo's own database only. `nightwatch run` on a real site
never has default accounts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import platformdirs

from console.commands.detect import add_detector_arguments
from console.commands.run import add_priority_argument, run_headless, runtime_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="the console on a demo museum with live demo cameras")
    parser.add_argument("--headless", action="store_true", help="no window; alarms to the log")
    parser.add_argument("--cameras", type=int, default=64, help="demo cameras (default 64)")
    parser.add_argument("--db", metavar="URL", help="alarm store (default: the demo's own)")
    parser.add_argument("--workers", type=int, help="CPU detector workers")
    add_priority_argument(parser)
    add_detector_arguments(parser, site_chooses=True)
    parser.set_defaults(func=run)


# name, role, password: the demo's accounts (the window opens signed in as the operator)
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("supervisor", "supervisor", "supervisor-demo"),
    ("operator", "operator", "operator-demo"),
    ("auditor", "auditor", "auditor-demo"),
)
DEMO_OPERATOR = DEMO_ACCOUNTS[1]


def demo_accounts_notice() -> str:
    """The accounts in one line, for the window title and the terminal."""
    others = [
        f"{name} / {password}" for name, role, password in DEMO_ACCOUNTS if role != "operator"
    ]
    return "demo accounts: " + ", ".join(others) + f", {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[2]}"


def ensure_demo_accounts(db_url: str) -> bool:
    """Make the demo's accounts in its database if it has none yet; True when they exist (a
    database that already has other accounts is left as it is)."""
    from console.account_actions import AddAccount
    from console.clock import SystemClock
    from console.control_room import ControlRoom
    from console.passwords import Password
    from console.shift_actions import CreateFirstSupervisor, LogOut
    from console.store import Store

    with Store(db_url) as store:
        room = ControlRoom.load(store, SystemClock())
        if not room.accounts.has_accounts:
            (boss, _role, password), *others = DEMO_ACCOUNTS
            station = "demo-setup"
            made = room.apply(CreateFirstSupervisor(boss, Password(password), station, False))
            if not made.ok:
                raise ValueError(f"the demo's supervisor: {made.refusal}")
            for name, role, secret in others:
                added = room.apply(AddAccount(boss, name, role, Password(secret)))
                if not added.ok:
                    raise ValueError(f"the demo account {name}: {added.refusal}")
            room.apply(LogOut(boss, station, reason="demo accounts made"))
            print(f"nightwatch demo: {demo_accounts_notice()}", flush=True)
        store.flush()
        return all(room.accounts.account(name) is not None for name, _, _ in DEMO_ACCOUNTS)


def demo_db_url() -> str:
    folder = Path(platformdirs.user_data_dir("nightwatch"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def prepare(args: argparse.Namespace) -> Path | None:
    """Build (or reuse) the demo museum; its site file, or None after saying what failed."""
    from console.media import MediaMissing
    from resources.demo_museum import build_demo_site

    try:
        return build_demo_site(cameras=args.cameras)
    except (MediaMissing, OSError, ValueError) as exc:
        print(f"nightwatch demo: cannot build the demo museum: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    site = prepare(args)
    if site is None:
        return 1
    db_url = args.db or demo_db_url()
    if not accounts_ready(db_url):
        return 1
    return run_headless(site, runtime_options(args), db_url=db_url)


def accounts_ready(db_url: str) -> bool:
    """`ensure_demo_accounts`, saying on stderr why not (a demo already running on the store)."""
    from console.store import StoreError

    try:
        ensure_demo_accounts(db_url)
    except (StoreError, ValueError) as exc:
        print(f"nightwatch demo: {exc}", file=sys.stderr)
        return False
    return True
