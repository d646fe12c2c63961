"""`nightwatch users`: accounts from the command line, with the console's role table.

    nightwatch users add NAME --role operator|supervisor|auditor --user BOSS
    nightwatch users add NAME --role supervisor          # the very first account only
    nightwatch users list --user BOSS
    nightwatch users disable NAME --user BOSS            # enable NAME likewise
    nightwatch users passwd NAME --user BOSS             # NAME == BOSS: your own password

`--user`'s password is asked on the terminal (or read with `--password-fd N`); a new password
is asked twice on the terminal, or read from the first line of standard input. The command
signs in like the console (back-off, audit) and goes through the same service layer; the store
is locked while a console runs on it (stop it, or manage users in the console's window).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from console.commands.sign_in import (
    CommandRefused,
    SignedCommand,
    add_user_arguments,
    new_password,
    open_room,
    signed_in,
    station,
)

if TYPE_CHECKING:
    from console.accounts import AccountView
    from console.actions import Action
    from console.control_room import ControlRoom

ROLES = ("operator", "supervisor", "auditor")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("users", help="user accounts: add, list, disable, enable, passwd")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = verbs.add_parser("add", help="add an account (its password is asked)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=ROLES, required=True)
    add_user_arguments(add, required=False)
    listing = verbs.add_parser("list", help="every account, its role and state")
    add_user_arguments(listing)
    for verb, words in (("disable", "disable an account"), ("enable", "enable an account")):
        p = verbs.add_parser(verb, help=words)
        p.add_argument("name", metavar="NAME")
        add_user_arguments(p)
    passwd = verbs.add_parser("passwd", help="set a new password (asked)")
    passwd.add_argument("name", metavar="NAME")
    add_user_arguments(passwd)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except CommandRefused as exc:
        print(f"nightwatch users: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from console.account_actions import (
        AddAccount,
        DisableAccount,
        EnableAccount,
        ListAccounts,
        SetPassword,
    )
    from console.shift_actions import ChangeOwnPassword
    from console.store import user_key

    with open_room(args) as (_store, room):
        if args.verb == "add" and not room.accounts.has_accounts:
            return _first_supervisor(args, room)
        if args.user is None:
            raise CommandRefused("say who adds the account: --user NAME")
        with signed_in(args, room) as command:
            if args.verb == "add":
                answer = command.ask(
                    AddAccount(command.user, args.name, args.role, new_password(args.name))
                )
                print(f"added {answer.value.name} ({answer.value.role.value})")
            elif args.verb == "list":
                _print_accounts(command.ask(ListAccounts(command.user)).value)
            elif args.verb == "disable":
                command.ask(DisableAccount(command.user, args.name))
                print(f"disabled {args.name}")
            elif args.verb == "enable":
                command.ask(EnableAccount(command.user, args.name))
                print(f"enabled {args.name}")
            elif args.verb == "passwd":
                if user_key(args.name) == user_key(command.user):
                    if command.password is None:
                        raise CommandRefused("your own password is changed after signing in")
                    action: Action = ChangeOwnPassword(
                        command.user, command.station, command.password, new_password(args.name)
                    )
                else:
                    action = SetPassword(command.user, args.name, new_password(args.name))
                command.ask(action)
                print(f"password of {args.name} changed")
    return 0


def _first_supervisor(args: argparse.Namespace, room: ControlRoom) -> int:
    """No account at all: NAME becomes the first supervisor (no --user to ask for)."""
    from console.shift_actions import CreateFirstSupervisor, LogOut

    if args.role != "supervisor":
        raise CommandRefused(
            f"there is no account yet: the first one is a supervisor "
            f"(nightwatch users add {args.name} --role supervisor)"
        )
    where = station()
    command = SignedCommand(room, args.name, where)
    answer = command.ask(CreateFirstSupervisor(args.name, new_password(args.name), where, False))
    room.apply(LogOut(answer.value.user, where, reason="first supervisor created"))
    print(f"added {answer.value.user} (supervisor, the first account)")
    return 0


def _print_accounts(accounts: list[AccountView]) -> None:
    rows = [("NAME", "ROLE", "STATE", "CREATED", "BY")]
    for a in accounts:
        created = a.created_at.strftime("%Y-%m-%d %H:%M") if a.created_at else "-"
        state = "disabled" if a.disabled else "enabled"
        rows.append((a.name, a.role.value, state, created, a.created_by or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
