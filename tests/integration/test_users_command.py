"""`nightwatch users`, `export` and `settings` as a user or a script runs them: real processes, a
real SQLite file, passwords through standard input and a file descriptor, never on the command
line; the same role table as the console."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import build_parser
from console.store import Store, audit_entries, list_users

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "tests" / "data" / "example_site" / "site.yaml"
BOSS = "supervise the night"
AUDREY = "read every line twice"
ANA = "first monitor on duty"


def nightwatch(
    db: Path, *args: str, stdin: str = "", password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command with `stdin` as standard input and, if given, `password` through a pipe
    (`--password-fd`); without a controlling terminal (a new session), as a script runs it."""
    read_fd = None
    extra: list[str] = []
    if password is not None:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, (password + "\n").encode())
        os.close(write_fd)
        extra = ["--password-fd", str(read_fd)]
    try:
        return subprocess.run(
            [sys.executable, "-m", "console.cli", "-v", *args, "--db", f"sqlite:///{db}", *extra],
            cwd=REPO,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            pass_fds=(read_fd,) if read_fd is not None else (),
            start_new_session=True,
        )
    finally:
        if read_fd is not None:
            os.close(read_fd)


def test_accounts_from_the_command_line_with_the_consoles_role_table(tmp_path: Path) -> None:
    db = tmp_path / "nightwatch.db"
    # without an account, only a supervisor can be the first
    refused = nightwatch(db, "users", "add", "ana", "--role", "operator", stdin=ANA + "\n")
    assert refused.returncode == 1
    assert "the first one is a supervisor" in refused.stderr
    first = nightwatch(db, "users", "add", "boss", "--role", "supervisor", stdin=BOSS + "\n")
    assert first.returncode == 0, first.stderr
    assert "added boss (supervisor, the first account)" in first.stdout
    # from now on someone signs the command; no terminal: the password comes from fd 3
    no_terminal = nightwatch(db, "users", "list", "--user", "boss")
    assert no_terminal.returncode == 1
    assert "no terminal to ask boss's password on: give it with --password-fd N" in (
        no_terminal.stderr
    )
    for name, role, secret in (("audrey", "auditor", AUDREY), ("ana", "operator", ANA)):
        added = nightwatch(
            db,
            "users",
            "add",
            name,
            "--role",
            role,
            "--user",
            "boss",
            stdin=secret + "\n",
            password=BOSS,
        )
        assert added.returncode == 0, added.stderr
    taken = nightwatch(
        db,
        "users",
        "add",
        "ANA",
        "--role",
        "auditor",
        "--user",
        "boss",
        stdin="another long password\n",
        password=BOSS,
    )
    assert taken.returncode == 1
    assert "the name 'ANA' is taken (by 'ana')" in taken.stderr
    listed = nightwatch(db, "users", "list", "--user", "boss", password=BOSS)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:3] for line in listed.stdout.splitlines()[1:]] == [
        ["ana", "operator", "enabled"],
        ["audrey", "auditor", "enabled"],
        ["boss", "supervisor", "enabled"],
    ]
    # the same table as the console: an auditor exports, and may not manage accounts
    sneaky = nightwatch(db, "users", "disable", "boss", "--user", "audrey", password=AUDREY)
    assert sneaky.returncode == 1
    assert "audrey (auditor) may not manage user accounts" in sneaky.stderr
    out = tmp_path / "night"
    period = (str(SITE), "--from", "2026-11-28", "--to", "2026-11-28", "--out", str(out))
    exported = nightwatch(db, "export", *period, "--user", "audrey", password=AUDREY)
    assert exported.returncode == 0, exported.stderr
    assert (out / "manifest.json").exists()
    out = tmp_path / "again"
    period = (str(SITE), "--from", "2026-11-28", "--to", "2026-11-28", "--out", str(out))
    not_hers = nightwatch(db, "export", *period, "--user", "ana", password=ANA)
    assert "ana (operator) may not export the incident log" in not_hers.stderr
    changed = nightwatch(
        db, "settings", "set", "lock_after_min", "5", "--user", "boss", password=BOSS
    )
    assert "lock_after_min = 5" in changed.stdout
    wrong = nightwatch(db, "users", "disable", "ana", "--user", "boss", password="guess")
    assert "wrong name or password" in wrong.stderr
    disabled = nightwatch(db, "users", "disable", "ana", "--user", "boss", password=BOSS)
    assert disabled.returncode == 0, disabled.stderr
    locked_out = nightwatch(db, "export", *period, "--user", "ana", password=ANA)
    assert "the account ana is disabled" in locked_out.stderr

    with Store(f"sqlite:///{db}", read_only=True) as store:
        users = {u.name: (u.role.value, u.disabled) for u in store.read(list_users)}
        assert users["ana"] == ("operator", True)
        rows = store.read(audit_entries)
    refusals = [(e.user, e.detail["act"]) for e in rows if e.action == "permission.refused"]
    assert refusals == [("audrey", "manage_users"), ("ana", "export")]
    assert ("boss", "login.failed") in [(e.user, e.action) for e in rows]
    # no password in any output, log line (-v: debug) or byte of the database
    everything = [first, listed, sneaky, exported, not_hers, changed, wrong, disabled]
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(db.name))
    for secret in (BOSS, AUDREY, ANA):
        for done in everything:
            assert secret not in done.stdout + done.stderr
        assert secret.encode() not in files


def test_no_command_takes_a_password_as_an_argument() -> None:
    """Anything on a command line is in `ps` and the shell's history: a password never is."""
    found: list[tuple[str, str]] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            for option in action.option_strings:
                if "pass" in option or "secret" in option:
                    found.append((path, option))
                    assert option == "--password-fd", (path, option)
                    assert action.type is int

    walk(build_parser(), "nightwatch")
    assert ("nightwatch users add", "--password-fd") in found
    assert ("nightwatch export", "--password-fd") in found


@pytest.mark.parametrize("verb", ["list", "disable"])
def test_the_user_option_is_required_once_accounts_exist(verb: str) -> None:
    args = ["users", verb] + (["x"] if verb == "disable" else [])
    with pytest.raises(SystemExit):
        build_parser().parse_args(args)
