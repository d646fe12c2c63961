"""`nightwatch settings`: the console settings a supervisor configures.

    nightwatch settings show --user NAME
    nightwatch settings set lock_after_min 5 --user BOSS   # 0: the console never locks itself

A change is a configuration change: only a role the role table lets configure may make it, and
it is stored with who made it (a config change and an audit row).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from console.commands.sign_in import CommandRefused, add_user_arguments, open_room, signed_in


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("settings", help="show or change the console settings")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser("show", help="the settings now")
    add_user_arguments(show)
    change = verbs.add_parser("set", help="change one setting (supervisors)")
    change.add_argument("key", metavar="KEY")
    change.add_argument("value", metavar="VALUE")
    add_user_arguments(change)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from console.control_room import SETTING_LIMITS
    from console.record_actions import ChangeSetting, ShowSettings

    try:
        with open_room(args) as (_store, room), signed_in(args, room) as command:
            if args.verb == "set":
                settings = command.ask(ChangeSetting(command.user, args.key, args.value)).value
            else:
                settings = command.ask(ShowSettings(command.user)).value
    except CommandRefused as exc:
        print(f"nightwatch settings: {exc}", file=sys.stderr)
        return 1
    for key, value in asdict(settings).items():
        print(f"{key} = {value:g}    # {SETTING_LIMITS[key][2]}")
    return 0
