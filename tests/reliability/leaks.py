"""What a process holds, read from /proc (Linux; psutil is not a dependency): its descendant
processes, its open file descriptors, the frame rings it created in /dev/shm."""

from __future__ import annotations

import os
from pathlib import Path

from inference.frame_ring import NAME_PREFIX, SHM_DIR


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses
    return int(stat.rpartition(")")[2].split()[1])


def descendants(pid: int | None = None) -> dict[int, str]:
    """Every living process below `pid` (default: this one), with its command line; zombies
    (exited, not yet reaped) are left out."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = _parent_of(int(entry))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry))
    found: dict[int, str] = {}
    stack = list(children.get(root, []))
    while stack:
        child = stack.pop()
        try:
            state = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()[0]
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if state != "Z":
            found[child] = command.strip()
        stack.extend(children.get(child, []))
    return found


def open_fds(pid: int | None = None) -> int:
    """How many file descriptors the process has open."""
    return len(os.listdir(f"/proc/{'self' if pid is None else pid}/fd"))


def rings_of(pid: int | None = None) -> list[str]:
    """The frame rings in /dev/shm that the process created (their names carry its pid)."""
    owner = os.getpid() if pid is None else pid
    return sorted(p.name for p in SHM_DIR.glob(f"{NAME_PREFIX}{owner}-*"))
