"""`load_site(path)`: read a site file, validate it, cross-check it and read the files it names;
a frozen `Site`, or `SiteFileError` with every problem found."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from pydantic import ValidationError

from console.site_file.cross_checks import Parts, cross_check, partial_parts
from console.site_file.named_files import check_files
from console.site_file.problems import MISSING, Problem, SiteFileError, site_file_error
from console.site_file.pydantic_errors import problems_of
from console.site_file.schema import Site
from console.site_file.yaml_loading import parse_yaml

__all__ = ["MAX_SITE_FILE_BYTES", "load_site", "load_site_text", "read_site_text"]

MAX_SITE_FILE_BYTES = 1 << 20  # 1 MiB; a 256-camera demo museum's site file is 40 KB


def load_site(path: str | os.PathLike[str], *, probe_videos: bool = False) -> Site:
    """Read and validate a site file and the images it names; raise SiteFileError on problems.

    Relative paths in the file resolve against the file's folder. Problems name the file as
    given here. With `probe_videos` (`nightwatch check`), every video file a camera names must
    also be a video that gives a frame (inference.video_probe); streams and USB cameras are not
    contacted.
    """
    file = os.fspath(path)
    site_path = Path(file)
    text = _read_text(site_path, file)
    return load_site_text(text, file, site_path.resolve().parent, probe_videos=probe_videos)


def read_site_text(path: str | os.PathLike[str]) -> str:
    """A site file's text as `load_site` reads it (a regular file of at most 1 MiB, UTF-8,
    newlines normalised); SiteFileError otherwise."""
    file = os.fspath(path)
    return _read_text(Path(file), file)


def load_site_text(
    text: str, file: str, base_dir: str | os.PathLike[str], *, probe_videos: bool = False
) -> Site:
    """`load_site` on text not (yet) in a file: an edit about to be saved. `file` names it in
    problems; relative paths resolve against `base_dir` (the folder it will be saved in)."""
    if len(text.encode("utf-8")) > MAX_SITE_FILE_BYTES:
        raise SiteFileError(
            file,
            [
                Problem(
                    "<document>",
                    f"too large for a site file: more than {MAX_SITE_FILE_BYTES} bytes (1 MiB)",
                ).format(file)
            ],
        )
    data, problems = parse_yaml(text)
    if problems and data is None:
        raise site_file_error(file, problems)
    if data is None:
        raise SiteFileError(file, [Problem("<document>", "the site file is empty").format(file)])
    if not isinstance(data, dict):
        raise SiteFileError(
            file,
            [
                Problem(
                    "<document>", "should be a mapping of sections (version, site, ...)", data
                ).format(file)
            ],
        )

    context = {"base_dir": Path(base_dir), "defer_checks": True}
    site: Site | None = None
    try:
        site = Site.model_validate(data, context=context)
        parts = Parts.of(site)
    except ValidationError as exc:
        problems += problems_of(exc)
        parts = partial_parts(data, context)
    problems += check_files(parts, probe_videos=probe_videos)
    problems += cross_check(parts)
    if problems or site is None:
        raise site_file_error(file, problems)
    return site


def _read_text(site_path: Path, file: str) -> str:
    """The site file's text, read only when it is a regular file of at most 1 MiB."""

    def refuse(message: str, got: object = MISSING) -> SiteFileError:
        return SiteFileError(file, [Problem("<document>", message, got).format(file)])

    try:
        info = site_path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), file)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block, /dev/zero never end
            raise refuse("cannot read the site file: not a regular file", file)
        if info.st_size > MAX_SITE_FILE_BYTES:
            raise refuse(
                f"too large for a site file: more than {MAX_SITE_FILE_BYTES} bytes (1 MiB), "
                "refused unread",
                info.st_size,
            )
        with site_path.open("rb") as stream:
            raw = stream.read(MAX_SITE_FILE_BYTES + 1)
    except FileNotFoundError:
        raise refuse("site file not found", file) from None
    except OSError as exc:
        raise refuse(f"cannot read the site file: {exc.strerror}", file) from None
    if len(raw) > MAX_SITE_FILE_BYTES:  # it grew since stat
        raise refuse(
            f"too large for a site file: more than {MAX_SITE_FILE_BYTES} bytes (1 MiB)", len(raw)
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read would
