"""The demo's accounts: one per role, made once in the demo's own database through the service
layer, each able to sign in with the password the README and the window title show."""

from __future__ import annotations

from pathlib import Path

from console.actions import answer_when_ready
from console.clock import SystemClock
from console.commands.demo import DEMO_ACCOUNTS, demo_accounts_notice, ensure_demo_accounts
from console.control_room import ControlRoom
from console.passwords import Password
from console.roles import Role
from console.shift_actions import LogIn
from console.store import Store, audit_entries, list_users


def test_demo_accounts_are_made_once_and_sign_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert ensure_demo_accounts(url)
    assert ensure_demo_accounts(url)  # the second start finds them
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    with Store(url) as store:
        users = {u.name: u.role for u in store.read(list_users)}
        assert users == {
            "supervisor": Role.SUPERVISOR,
            "operator": Role.OPERATOR,
            "auditor": Role.AUDITOR,
        }
        adds = [(e.user, e.action) for e in store.read(audit_entries) if e.action == "user.add"]
        assert adds == [("supervisor", "user.add")] * 3
        room = ControlRoom.load(store, SystemClock())
        for name, role, password in DEMO_ACCOUNTS:
            signed = answer_when_ready(
                room.apply(LogIn(name, Password(password), f"try-{name}"))
            ).result(timeout=30)
            assert signed.ok, signed.refusal
            assert signed.value.role == Role(role)
            assert f"{name} / {password}" in demo_accounts_notice()
            assert f"| `{name}` | {role} | `{password}` |" in readme
