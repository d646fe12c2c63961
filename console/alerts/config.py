"""The alert destinations of a site: what is configured, what is missing, and the transports.

`route_warnings(site)` is what `nightwatch check` prints and the console shows and audits at
start: routes to a destination that has no endpoint (the reference site routes high alarms
`to: [control_room, gallery]` and configures none: it loads, and this says so), and escalations
with no supervisor to page. `transports(site)` builds the MQTT and webhook transports of each
destination with their credentials from the secrets store; a key the store lacks is a warning too
(the transport then goes without, and a broker or receiver that insists says so when it fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.alerts.transports import MqttTransport, Transport, WebhookTransport
from console.secrets import Credentials, SecretsError, SharedSecret, load_all_secrets
from console.site_file import Site

__all__ = [
    "DESTINATIONS",
    "AlertWarning",
    "Transports",
    "route_warnings",
    "transports",
]

DESTINATIONS = ("gallery", "supervisor")


@dataclass(frozen=True, slots=True)
class AlertWarning:
    """Something about the alert setup the operator must know; `path` names the site file's
    field, `fix` says in words what would cure it (None where the code cannot tell)."""

    path: str
    text: str
    fix: str | None = None


def route_warnings(site: Site) -> list[AlertWarning]:
    """What goes nowhere, in the site file's words (no secrets read, no network)."""
    warnings: list[AlertWarning] = []
    configured = site.alert_destinations
    for destination in DESTINATIONS:
        if getattr(configured, destination) is not None:
            continue
        first = next(
            (i for i, route in enumerate(site.alert_routes) if destination in route.to), None
        )
        if first is not None:
            warnings.append(
                AlertWarning(
                    f"alert_routes[{first}].to",
                    f"{destination} alerts go nowhere: no {destination} destination is "
                    f"configured (alert_destinations.{destination})",
                    f"add alert_destinations.{destination} (MQTT or webhook) to the site file, "
                    f"or take {destination} out of alert_routes[{first}].to (a new destination "
                    "takes effect at the next start)",
                )
            )
    if configured.supervisor is None:
        warnings.append(
            AlertWarning(
                "alert_destinations.supervisor",
                "escalations page nobody: no supervisor destination is configured, only this "
                "console knows",
                "add alert_destinations.supervisor (the supervisor's MQTT topic or webhook) to "
                "the site file",
            )
        )
    return warnings


@dataclass(frozen=True, slots=True)
class Transports:
    by_destination: dict[str, tuple[Transport, ...]]
    warnings: tuple[AlertWarning, ...]
    retry_for_s: dict[str, float]


def transports(site: Site, secrets_file: Path | None = None) -> Transports:
    """Each configured destination's transports, credentials and shared secrets filled in."""
    warnings: list[AlertWarning] = []
    by_destination: dict[str, tuple[Transport, ...]] = {}
    retry_for_s: dict[str, float] = {}
    needed = any(
        (d.mqtt is not None and d.mqtt.credentials) or (d.webhook is not None and d.webhook.secret)
        for d in (site.alert_destinations.gallery, site.alert_destinations.supervisor)
        if d is not None
    )
    credentials: dict[str, Credentials] = {}
    shared: dict[str, SharedSecret] = {}
    if needed:
        try:
            credentials, shared = load_all_secrets(secrets_file)
        except SecretsError as exc:
            warnings.append(AlertWarning("alert_destinations", f"{exc}; alerts go without"))
    for destination in DESTINATIONS:
        config = getattr(site.alert_destinations, destination)
        if config is None:
            continue
        made: list[Transport] = []
        path = f"alert_destinations.{destination}"
        if config.mqtt is not None:
            key = config.mqtt.credentials
            creds = credentials.get(key) if key else None
            if key and creds is None:
                warnings.append(
                    AlertWarning(
                        f"{path}.mqtt.credentials",
                        f"{destination} MQTT: no credentials {key!r} in the secrets store; "
                        "connecting without",
                        f"add the credentials {key!r} to the secrets file",
                    )
                )
            made.append(MqttTransport(config.mqtt, destination, creds))
        if config.webhook is not None:
            key = config.webhook.secret
            secret = shared.get(key) if key else None
            if key and secret is None:
                warnings.append(
                    AlertWarning(
                        f"{path}.webhook.secret",
                        f"{destination} webhook: no shared secret {key!r} in the secrets store; "
                        "posting unsigned",
                        f"add the shared secret {key!r} to the secrets file",
                    )
                )
            made.append(WebhookTransport(config.webhook, secret))
        by_destination[destination] = tuple(made)
        retry_for_s[destination] = config.retry_for_s
    return Transports(by_destination, tuple(warnings), retry_for_s)
