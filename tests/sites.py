"""Test sites built in a temp folder from tests/data, with the fetched footage linked in."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.media import media

DATA = Path(__file__).resolve().parent / "data"


def courtyard_site(folder: Path) -> Path:
    """The courtyard test site (one camera on vtest.avi, a plinth by the path) in `folder`, with
    the footage and the example site's plan linked in; returns its site.yaml."""
    site_dir = folder / "site"
    shutil.copytree(DATA / "courtyard_site", site_dir)
    (site_dir / "footage").mkdir()
    (site_dir / "footage" / "vtest.avi").symlink_to(media("vtest.avi"))
    (site_dir / "plans").mkdir()
    shutil.copy(DATA / "example_site" / "plans" / "ground.png", site_dir / "plans" / "ground.png")
    return site_dir / "site.yaml"
