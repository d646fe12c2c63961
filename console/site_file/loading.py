"""`load_site(path)`: read a site file, validate it, cross-check it and read the files it names;
a frozen `Site`, or `SiteFileError` with every problem found."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from console.site_file.cross_checks import Parts, cross_check, partial_parts
from console.site_file.named_files import check_files
from console.site_file.problems import Problem, SiteFileError
from console.site_file.pydantic_errors import problems_of
from console.site_file.schema import Site
from console.site_file.yaml_loading import parse_yaml

__all__ = ["load_site"]


def load_site(path: str | os.PathLike[str]) -> Site:
    """Read and validate a site file and the images it names; raise SiteFileError on problems.

    Relative paths in the file resolve against the file's folder. Problems name the file as
    given here.
    """
    file = os.fspath(path)
    site_path = Path(file)
    try:
        text = site_path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SiteFileError(
            file, [Problem("<document>", "site file not found", file).format(file)]
        ) from None
    except UnicodeDecodeError as exc:
        raise SiteFileError(
            file, [Problem("<document>", f"not UTF-8 text (byte {exc.start})").format(file)]
        ) from None
    except OSError as exc:
        raise SiteFileError(
            file,
            [
                Problem("<document>", f"cannot read the site file: {exc.strerror}", file).format(
                    file
                )
            ],
        ) from None

    data, problems = parse_yaml(text)
    if problems and data is None:
        raise SiteFileError(file, [p.format(file) for p in problems])
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

    context = {"base_dir": site_path.resolve().parent, "defer_checks": True}
    site: Site | None = None
    try:
        site = Site.model_validate(data, context=context)
        parts = Parts.of(site)
    except ValidationError as exc:
        problems += problems_of(exc)
        parts = partial_parts(data, context)
    problems += check_files(parts)
    problems += cross_check(parts)
    if problems or site is None:
        raise SiteFileError(file, [p.format(file) for p in problems])
    return site
