"""Property tests (hypothesis) over what an attacker or a slip of the keyboard can feed
Nightwatch: URLs with credentials, fuzzed site files, random polygons.

- `mask_credentials` hides a password of any characters `/ @ : %` and escapes, whole.
- `load_site` on any text returns a `Site` or raises `SiteFileError`: nothing else escapes.
- Its work is bounded by the file, not by what the file can expand to: the YAML values composed
  (and then walked and validated) are the values written, never more (no alias is ever
  expanded), and at most `MAX_VALUES`. No timing is asserted: counts are.
"""

from __future__ import annotations

import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.site_file import Site, SiteFileError, load_site
from console.site_file.yaml_loading import MAX_VALUES, SiteLoader
from inference.sources import mask_credentials

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "data" / "example_site"
EXAMPLE_TEXT = (EXAMPLE / "site.yaml").read_text(encoding="utf-8")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.reliability  # the fuzzing part of the battery (tests/reliability/)


# --------------------------------------------------------------------------- credentials

_escape = st.sampled_from(["%40", "%2F", "%3A", "%25", "%20", "%3F", "%23"])
_user = st.lists(
    st.text(string.ascii_letters + string.digits + "._~-", min_size=1, max_size=6) | _escape,
    max_size=4,
).map("".join)
# A password of raw "/", "@", ":" and percent-escapes among other printable characters. ("?"
# and "#" are covered by examples in test_sources.py: a raw "@", "/" and "?" in one password
# can be read two ways, and the masking then hides more than the password, never less.)
_password = st.lists(
    st.text(string.ascii_letters + string.digits + "/@:%!$&'()*+,;=-._~[]", min_size=1, max_size=6)
    | _escape,
    min_size=1,
    max_size=5,
).map("".join)
_host = st.sampled_from(
    ["cam-east.museum.example", "10.0.0.5", "[fe80::1]", "localhost", "cam_7.local"]
)
_port = st.sampled_from(["", ":554", ":8554", ":80"])
_path = st.sampled_from(["", "/", "/stream1", "/Streaming/Channels/101", "/live?channel=1&sub=0"])


@SETTINGS
@given(
    scheme=st.sampled_from(["rtsp", "rtsps", "http", "https"]),
    user=_user,
    password=_password,
    host=_host,
    port=_port,
    path=_path,
)
@example(scheme="rtsp", user="admin", password="pa/ss", host="cam", port="", path="/x")
@example(scheme="rtsp", user="", password="@@//::", host="cam", port=":554", path="")
def test_a_password_of_any_characters_is_masked_whole(
    scheme: str, user: str, password: str, host: str, port: str, path: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}{port}{path}"
    assert mask_credentials(url) == f"{scheme}://{user}:***@{host}{port}{path}"
    assert mask_credentials(url, hide_user=True) == f"{scheme}://***@{host}{port}{path}"
    message = f"cannot open {url}: 401 Unauthorized (retrying {url})"
    shown = f"{scheme}://{user}:***@{host}{port}{path}"
    assert mask_credentials(message) == f"cannot open {shown}: 401 Unauthorized (retrying {shown})"


@SETTINGS
@given(text=st.text(max_size=80))
def test_masking_never_adds_or_loses_text_without_credentials(text: str) -> None:
    """Text holding no "@" comes back unchanged; masking twice changes nothing more."""
    once = mask_credentials(text)
    if "@" not in text:
        assert once == text
    assert mask_credentials(once) == once


# --------------------------------------------------------------------------- fuzzed site files


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "site"
    shutil.copytree(EXAMPLE, target)
    return target


def _walked(node: yaml.Node) -> int:
    """Values in a composed document, walked as a tree (an alias would be walked again)."""
    stack, count = [node], 0
    while stack:
        current = stack.pop()
        count += 1
        if isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in current.value for n in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return count


EXAMPLE_VALUES = _walked(yaml.compose(EXAMPLE_TEXT))


def _load_and_bound(site_dir: Path, text: str) -> Site | None:
    """Load the text as a site file: a Site, or None after a SiteFileError; then check that the
    loader's work was bounded by the text."""
    path = site_dir / "site.yaml"
    path.write_text(text, encoding="utf-8")
    site: Site | None = None
    problems: list[str] = []
    try:
        site = load_site(path)
    except SiteFileError as exc:
        problems = exc.problems
    assert (site is None) == bool(problems)
    for line in problems:
        assert line.startswith(f"{path}: ")
        assert "\n" not in line
        assert len(line) < len(str(path)) + 600, line[:200]

    read = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        loader = SiteLoader(read)
    except yaml.YAMLError:
        return site  # its reader refused a character before anything was composed
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        node = None
    finally:
        loader.dispose()
    assert loader.values <= MAX_VALUES + 1
    assert loader.values <= 2 * len(read) + 2  # linear in the text
    if node is not None:
        assert _walked(node) == loader.values  # no value was composed twice: no alias
    return site


@SETTINGS
@given(
    depth=st.integers(1, 8),
    width=st.integers(1, 9),
    where=st.sampled_from(["top", "camera", "zone"]),
)
def test_aliases_are_refused_before_anything_expands(
    site_dir: Path, depth: int, width: int, where: str
) -> None:
    """Nested aliases (a "billion laughs" of `width`**`depth` values in a few hundred bytes),
    wherever they stand: refused at the first alias, with only the values before it composed."""
    laughs = ['lol0: &l0 ["lol", "lol"]'] + [
        f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth + 1)
    ]
    if where == "top":
        text = EXAMPLE_TEXT + "\n".join(laughs) + "\n"
    elif where == "camera":
        block = "\n".join("    " + line for line in laughs)
        text = EXAMPLE_TEXT.replace(
            "    name: West gallery\n", "    name: West gallery\n" + block + "\n"
        )
    else:
        flow = "{" + ", ".join(line.replace(": ", ": ", 1) for line in laughs) + "}"
        text = EXAMPLE_TEXT.replace("    loiter_s: 300\n", f"    loiter_s: {flow}\n")
    path = site_dir / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    (problem,) = caught.value.problems
    assert "a site file holds no aliases (*l0)" in problem
    loader = SiteLoader(text)
    with pytest.raises(yaml.YAMLError):
        loader.get_single_node()
    assert loader.values <= EXAMPLE_VALUES + 8  # the example's, and the few before the alias


_YAML_PIECES = [
    "*a",
    "&a ",
    "<<: ",
    "? ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "!!binary ",
    "!!set ",
    "!!timestamp x",
    "!!python/name:os.system",
    "!!float nope",
    "1e999",
    "-.inf",
    ".nan",
    "~",
    "0x1F",
    "0777",
    "10:30",
    "2026-02-30",
    "'",
    '"',
    "\t",
    "\x00",
    "\x85",
    "\ufeff",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "|\n  x\n",
    ">-\n  y\n",
    "#",
    "\n",
    "  ",
    "cameras",
    "floors",
    "id: x",
    "9" * 120,
    "[[[[[[[[",
    "rtsp://u:p@h/x",
    "usb:9",
    "clips/none.mp4#t=abc",
]


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.sampled_from(["insert", "delete", "duplicate"]),
            st.sampled_from(_YAML_PIECES),
            st.integers(1, 40),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_mangled_site_file_is_a_site_or_a_site_file_error(
    site_dir: Path, edits: list[tuple[float, str, str, int]]
) -> None:
    text = EXAMPLE_TEXT
    for where, how, piece, span in edits:
        at = int(where * len(text))
        if how == "insert":
            text = text[:at] + piece + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + span :]
        else:
            text = text[:at] + text[at : at + span] * 2 + text[at + span :]
    _load_and_bound(site_dir, text)


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("{}[],:-&*!|>'\"#%@?~ \n\tab01.")), max_size=120))
def test_yaml_noise_is_a_site_file_error(site_dir: Path, text: str) -> None:
    assert _load_and_bound(site_dir, text) is None


@pytest.mark.parametrize("tag", ["!!float", "!!int", "!!bool", "!!timestamp"])
def test_a_tag_on_an_empty_value_is_a_site_file_error(site_dir: Path, tag: str) -> None:
    """Found by the fuzzing battery: PyYAML's constructors fail on an empty `!!float` (IndexError)
    or `!!bool` (KeyError), which escaped as a traceback from `nightwatch check`."""
    path = site_dir / "site.yaml"
    path.write_text(EXAMPLE_TEXT.replace("    loiter_s: 300\n", f"    loiter_s: {tag}\n"))
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: line ")
    assert f"not a valid {tag.removeprefix('!!')}" in problem


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.dates()
    | st.binary(max_size=8)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)
_FIELDS = [
    ("version",),
    ("site",),
    ("site", "timezone"),
    ("opening_hours", "tue"),
    ("opening_hours", "exceptions"),
    ("floors",),
    ("floors", 0, "metres_per_pixel"),
    ("floors", 0, "plan"),
    ("cameras", 0),
    ("cameras", 0, "source"),
    ("cameras", 0, "calibration"),
    ("cameras", 1, "plan_position"),
    ("protected_objects", 0, "image_regions"),
    ("zones", 2, "loiter_s"),
    ("rules", "proximity"),
    ("alarms", "escalate_after_s"),
    ("alert_routes", 0, "match"),
    ("guards",),
    ("surprise",),
]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _put(data: Any, where: tuple[Any, ...], value: Any) -> None:
    for part in where[:-1]:
        data = data[part]
    data[where[-1]] = value


@SETTINGS
@given(where=st.sampled_from(_FIELDS), value=_values)
def test_any_value_in_any_field_is_a_site_or_a_site_file_error(
    site_dir: Path, where: tuple[Any, ...], value: Any
) -> None:
    data = yaml.safe_load(EXAMPLE_TEXT)
    _put(data, where, value)
    _load_and_bound(site_dir, yaml.dump(data, Dumper=_NoAliases, sort_keys=False))


# --------------------------------------------------------------------------- random polygons

_coordinate = (
    st.floats(-1e6, 1e6)
    | st.integers(-2000, 3000)
    | st.sampled_from([float("nan"), float("inf"), -0.0, 1e300, 10**40, True, "3", None])
)
_point = st.lists(_coordinate, min_size=0, max_size=3) | st.tuples(
    st.integers(0, 1200), st.integers(0, 800)
).map(list)
_polygon = st.lists(_point, min_size=0, max_size=80)


@SETTINGS
@given(zone=_polygon, region=_polygon, image=_polygon, plan=_polygon)
def test_random_polygons_are_a_site_or_a_site_file_error(
    site_dir: Path, zone: list[Any], region: list[Any], image: list[Any], plan: list[Any]
) -> None:
    data = yaml.safe_load(EXAMPLE_TEXT)
    data["zones"][0]["plan_polygon"] = zone
    data["protected_objects"][0]["image_regions"]["cam-east"] = region
    data["cameras"][0]["calibration"] = {"image": image, "plan": plan}
    site = _load_and_bound(site_dir, yaml.dump(data, Dumper=_NoAliases, sort_keys=False))
    if site is not None:
        assert 3 <= len(site.zones[0].plan_polygon) <= 64
        assert 4 <= len(site.cameras[0].calibration.image) <= 32
        assert site.calibration("cam-east") is not None
