"""Which person detector a console runs, and where that choice came from.

The command line wins over the site file, the site file over the default:

- a detector chosen where the console is started (`--detector`, `--weights` or `--device` on
  the command line, or a `DetectorSpec` in code) is run as it is;
- else the site file's `detection:` section (a Triton server for every console of the site);
- else `auto` (YOLO when its weights are installed, else the offline SSDLite model).

`--workers` wins over the section's `workers` on its own. The choice is made once, when the
runtime starts (`SiteRuntime`): a changed `detection:` section takes effect at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.site_file import Site
from console.site_file.schema import TRITON_KINDS, DetectionSettings
from inference.worker_pool import DetectorSpec

__all__ = [
    "FROM_COMMAND_LINE",
    "FROM_DEFAULT",
    "FROM_SITE_FILE",
    "DetectorChoice",
    "asked_detector",
    "choose_detector",
    "detection_change_note",
    "site_detector",
]

FROM_COMMAND_LINE = "the command line"
FROM_SITE_FILE = "the site file"
FROM_DEFAULT = "the default"


@dataclass(frozen=True, slots=True)
class DetectorChoice:
    """The detector the worker pool starts (`spec`, `workers`: its worker count, None for the
    pool's default) and where each came from."""

    spec: DetectorSpec
    workers: int | None
    source: str
    workers_source: str

    @property
    def on_triton(self) -> bool:
        return self.spec.kind in TRITON_KINDS

    def describe(self) -> str:
        """'ssdlite-triton at triton.museum.lan:8001 (from the site file)'."""
        spec = self.spec
        if self.on_triton:
            text = f"{spec.kind} at {spec.device}"
        else:
            text = spec.kind
            if spec.weights:
                text += f", weights {spec.weights}"
            if spec.device:
                text += f", on {spec.device}"
        if self.workers is not None:
            what = "client" if self.on_triton else "worker"
            text += f", {self.workers} {what}{'s' if self.workers != 1 else ''}"
        where = f"from {self.source}"
        if self.workers is not None and self.workers_source != self.source:
            where += f"; workers from {self.workers_source}"
        return f"{text} ({where})"


def asked_detector(
    kind: str | None, weights: str | None, device: str | None
) -> DetectorSpec | None:
    """What the command line asks for: None when it names no detector, weights or device (the
    site file's section applies); `--weights` or `--device` alone ask for `auto` with them."""
    if kind is None and weights is None and device is None:
        return None
    return DetectorSpec(kind or "auto", weights, device)


def site_detector(section: DetectionSettings, base_dir: Path) -> DetectorSpec:
    """The detector a site file's `detection:` section names. Weights given as a path with
    folders are found relative to the site file's folder; a bare name is an installed model."""
    weights = section.weights
    if weights is not None:
        path = Path(weights).expanduser()
        if path.name != weights and not path.is_absolute():
            weights = str(base_dir / path)
    if section.detector in TRITON_KINDS:
        device = section.server
    else:
        device = None if section.device in (None, "auto") else section.device
    return DetectorSpec(section.detector, weights, device)


def choose_detector(
    asked: DetectorSpec | None, asked_workers: int | None, site: Site | None
) -> DetectorChoice:
    """The detector to run: `asked` (the command line's) wins, then the site's `detection:`
    section, then `auto`; `asked_workers` wins over the section's `workers`."""
    section = site.detection if site is not None else None
    if asked is not None:
        spec, source = asked, FROM_COMMAND_LINE
        site_workers = None  # the section's worker count belongs to the section's detector
    elif section is not None and site is not None:
        spec, source = site_detector(section, site.base_dir), FROM_SITE_FILE
        site_workers = section.workers
    else:
        spec, source = DetectorSpec(), FROM_DEFAULT
        site_workers = None
    if asked_workers is not None:
        return DetectorChoice(spec, asked_workers, source, FROM_COMMAND_LINE)
    if site_workers is not None:
        return DetectorChoice(spec, site_workers, source, FROM_SITE_FILE)
    return DetectorChoice(spec, None, source, source)


def detection_change_note(running: DetectorChoice) -> str:
    """What an applied site edit that changed the `detection:` section says: the worker pool
    keeps the detector it started with (the note is shown with the edit and audited)."""
    if running.source == FROM_COMMAND_LINE:
        return (
            "the changed detection section is not used by this console: its command line "
            f"chose the detector ({running.describe()})"
        )
    return (
        "the changed detection section takes effect at the next start; until then this "
        f"console runs {running.describe()}"
    )
