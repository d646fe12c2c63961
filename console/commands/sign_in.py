"""Signing a command in: `--user NAME`, the password from the terminal or a file descriptor, the
same service layer and role table as the console.

    nightwatch users list --user boss                       # asks boss's password on the terminal
    nightwatch export --user audrey --password-fd 3 3<pw    # a script: the password from fd 3

A password is never an argument (it would be in `ps` and the shell's history): it is read from
the terminal (`/dev/tty`, not echoed), from a file descriptor given with `--password-fd`, or, for
a new password when there is no terminal, from the first line of standard input.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.passwords import Password

if TYPE_CHECKING:
    from console.actions import Action, ActionAnswer
    from console.control_room import ControlRoom
    from console.store import Store


class CommandRefused(Exception):
    """The command cannot go on; the message says why (printed, exit code 1)."""


def station(kind: str = "cli") -> str:
    """This machine as a console name in the audit log: `cli@museum-pc`."""
    return f"{kind}@{socket.gethostname()}"


def add_user_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        required=required,
        help="who runs the command (their password is asked)",
    )
    parser.add_argument(
        "--password-fd",
        type=int,
        metavar="N",
        help="read the --user password from file descriptor N (for scripts), not the terminal",
    )
    add_store_arguments(parser)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    where.add_argument("--demo", action="store_true", help="the demo museum's own store")


def store_url(args: argparse.Namespace) -> str | None:
    if getattr(args, "demo", False):
        from console.commands.demo import demo_db_url

        return demo_db_url()
    return getattr(args, "db", None)


def _terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _line(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def password_from_fd(fd: int) -> Password:
    """The first line of file descriptor `fd` (the descriptor is closed after)."""
    try:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as stream:
            return Password(_line(stream.readline()).rstrip("\r"))
    except OSError as exc:
        raise CommandRefused(f"cannot read the password from file descriptor {fd}: {exc}") from exc


def ask_password(name: str, fd: int | None = None) -> Password:
    """`name`'s password: from `fd` if given, else asked on the terminal (not echoed)."""
    if fd is not None:
        return password_from_fd(fd)
    if not _terminal():
        raise CommandRefused(
            f"no terminal to ask {name}'s password on: give it with --password-fd N"
        )
    return Password(getpass.getpass(f"password for {name}: "))


def new_password(name: str) -> Password:
    """A new password for `name`: asked twice on the terminal when standard input is one, else
    the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"new password for {name}: ")
        second = getpass.getpass("the same again: ")
        if first != second:
            raise CommandRefused("the two passwords differ; nothing was changed")
        return Password(first)
    return Password(_line(sys.stdin.readline()).rstrip("\r"))


@dataclass
class SignedCommand:
    """A command's service layer and the user signed in to it."""

    room: ControlRoom
    user: str
    station: str
    password: Password | None = None  # the one the user signed in with (own password change)

    def ask(self, action: Action) -> ActionAnswer:
        """Apply through the service layer; wait for what it reads or writes; refusal raises."""
        from console.actions import answer_when_ready

        answer = answer_when_ready(self.room.apply(action)).result(timeout=120)
        if not answer.ok:
            raise CommandRefused(f"refused: {answer.refusal}")
        return answer


@contextmanager
def open_room(args: argparse.Namespace) -> Iterator[tuple[Store, ControlRoom]]:
    """The store (locked: one console per database) and its service layer; every write is on
    disk when the block ends, or the command fails saying which was not."""
    from console.clock import SystemClock
    from console.control_room import ControlRoom
    from console.store import Store, StoreError

    try:
        store = Store(store_url(args))
    except StoreError as exc:
        raise CommandRefused(str(exc)) from exc
    failed: list[str] = []
    try:
        room = ControlRoom.load(store, SystemClock())
        yield store, room
        store.flush(timeout_s=60)
        failed = room.accounts.write_errors()
    finally:
        report = store.close()
    if failed or not report.all_stored:
        raise CommandRefused("not stored: " + "; ".join([*failed, str(report)]))


@contextmanager
def signed_in(args: argparse.Namespace, room: ControlRoom) -> Iterator[SignedCommand]:
    """`--user` signed in at this machine's command line for the block (audited `login` and
    `logout`; no shift)."""
    from console.shift_actions import LogIn, LogOut

    where = station()
    password = ask_password(args.user, args.password_fd)
    command = SignedCommand(room, args.user, where, password)
    signed = command.ask(LogIn(args.user, password, where, shift=False))
    command.user = signed.value.user
    try:
        yield command
    finally:
        room.apply(LogOut(command.user, where, reason="command done"))


def first_supervisor_on_terminal(room: ControlRoom, where: str) -> bool:
    """The first start of `run --headless` with no account: ask for the first supervisor on the
    terminal. False (after saying why) when there is no terminal to ask on."""
    from console.actions import answer_when_ready
    from console.shift_actions import CreateFirstSupervisor, LogOut

    if not (sys.stdin.isatty() and _terminal()):
        print(
            "nightwatch: there is no account yet, and no terminal to create the first supervisor "
            "on: run `nightwatch users add NAME --role supervisor` first",
            file=sys.stderr,
        )
        return False
    print("No account exists yet: create the first supervisor.", flush=True)
    for _ in range(3):
        name = input("supervisor's name: ").strip()
        try:
            password = new_password(name)
        except CommandRefused as exc:
            print(exc, file=sys.stderr)
            continue
        answer = answer_when_ready(
            room.apply(CreateFirstSupervisor(name, password, where, shift=False))
        ).result(timeout=60)
        if answer.ok:
            room.apply(LogOut(name, where, reason="first supervisor created"))
            print(f"supervisor {name} created", flush=True)
            return True
        print(f"refused: {answer.refusal}", file=sys.stderr)
    return False
