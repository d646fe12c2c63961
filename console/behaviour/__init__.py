"""Behaviour learning, advisories, the watch list and following a visitor across cameras.

What this museum's visitors usually do is learned per room, artwork and camera view, by hour of
the week, in bounded memory, and stored as histograms only (`baseline`, `statistics`); each
visitor's visit is kept in memory while they are around (`visitors`), linked from track to track
and camera to camera by place, time and the colours of their clothes (`follow`, `appearance`,
`site_map`), and scored against the learned normal with reasons in words (`scoring`). A visitor
whose score reaches the site's threshold goes on the watch list (`watch_list`) with a
low-severity advisory (`console.rules.behaviour`); an operator can add anyone from a tile, or
dismiss an advisory as normal (`actions`). The model (`model.BehaviourModel`) runs on the core
thread; docs/behaviour.md says what it does, what it keeps and how well it works.

No face is looked at, no identity is stored, appearance vectors never leave memory.
"""

from console.behaviour.model import (
    Advisory,
    BehaviourModel,
    BehaviourRefused,
    BehaviourView,
    WatchedPerson,
)

__all__ = ["Advisory", "BehaviourModel", "BehaviourRefused", "BehaviourView", "WatchedPerson"]
