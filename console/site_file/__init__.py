"""The site file: one human-readable YAML file that describes a museum to Nightwatch.

`load_site(path)` reads, validates and cross-checks a site file and the plan images it names,
and returns a frozen `Site`; on any problem it raises `SiteFileError` holding every problem found,
each as `FILE: path.to.field: what is wrong (got VALUE)`. Relative paths in the file resolve
against the file's folder. The format is documented in docs/site-file.md; its JSON Schema
(resources/site.schema.json) is regenerated with

    python -m console.site_file --schema > resources/site.schema.json

One module per job:

    schema.py           the pydantic models and field types (strict, titled, units in names)
    yaml_loading.py     the YAML loader (no 1.1 surprises) and keys given twice
    pydantic_errors.py  validation errors said in the site file's words
    cross_checks.py     ids, references, points inside plans, calibrations
    named_files.py      the plan images and video files the site names
    problems.py         a problem, its one-line form, SiteFileError
    loading.py          load_site: all of the above, every problem at once
    schema_export.py    the JSON Schema for editors (and __main__.py, its command)
"""

from console.site_file.loading import load_site, load_site_text, read_site_text
from console.site_file.problems import SiteFileError
from console.site_file.schema import (
    FORMAT_VERSION,
    HOURS_PATTERN,
    ID_PATTERN,
    URL_SCHEMES,
    WEEKDAYS,
    AfterHoursRule,
    AlarmSettings,
    AlertDestination,
    AlertDestinations,
    AlertRoute,
    Arming,
    BehaviourSettings,
    Calibration,
    Camera,
    CameraHealthRule,
    DetectionSettings,
    EscalationTimes,
    EvidenceSettings,
    Floor,
    Guard,
    Hours,
    HoursException,
    Id,
    LoiteringRule,
    MqttDestination,
    Name,
    Number,
    ObjectMissingRule,
    OpeningHours,
    Point,
    Polygon,
    ProtectedObject,
    ProximityRule,
    RestrictedRule,
    RouteMatch,
    RuleSettings,
    Severity,
    Site,
    SiteInfo,
    WebhookDestination,
    Zone,
    ZoneHours,
    parse_hours,
    parse_periods,
    wall_clock_instant,
)
from console.site_file.schema_export import site_schema

__all__ = [
    "FORMAT_VERSION",
    "HOURS_PATTERN",
    "ID_PATTERN",
    "URL_SCHEMES",
    "WEEKDAYS",
    "AfterHoursRule",
    "AlarmSettings",
    "AlertDestination",
    "AlertDestinations",
    "AlertRoute",
    "Arming",
    "BehaviourSettings",
    "Calibration",
    "Camera",
    "CameraHealthRule",
    "DetectionSettings",
    "EscalationTimes",
    "EvidenceSettings",
    "Floor",
    "Guard",
    "Hours",
    "HoursException",
    "Id",
    "LoiteringRule",
    "MqttDestination",
    "Name",
    "Number",
    "ObjectMissingRule",
    "OpeningHours",
    "Point",
    "Polygon",
    "ProtectedObject",
    "ProximityRule",
    "RestrictedRule",
    "RouteMatch",
    "RuleSettings",
    "Severity",
    "Site",
    "SiteFileError",
    "SiteInfo",
    "WebhookDestination",
    "Zone",
    "ZoneHours",
    "load_site",
    "load_site_text",
    "parse_hours",
    "parse_periods",
    "read_site_text",
    "site_schema",
    "wall_clock_instant",
]
