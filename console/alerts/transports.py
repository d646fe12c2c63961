"""How an alert leaves the console: an MQTT publish (QoS 1) or an HTTP POST of JSON.

Each `send` blocks until the message is acknowledged (the broker's PUBACK; an HTTP 2xx) or
raises `DeliveryError` with the reason in words, so nothing is called sent that was not. Both run
only on a delivery thread (`console.alerts.delivery`), never on the core thread, and every wait is
bounded by the destination's `timeout_s`. Credentials and shared secrets come from the secrets
store; what is shown of an endpoint (`endpoint`) never holds them.

MQTT: one connection per message (connect, CONNACK, PUBLISH QoS 1, PUBACK, DISCONNECT). Alerts are
rare, and a fresh connection never publishes into a socket the broker dropped hours ago.

Webhook: `POST url` with `Content-Type: application/json`; with a shared secret, the header
`X-Nightwatch-Signature: sha256=<hex HMAC-SHA256 of the body>` lets the receiver check the sender.
Redirects are not followed (a POST turned into a GET would be lost, not delivered).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from console.secrets import Credentials, SharedSecret
from console.site_file import MqttDestination, WebhookDestination
from inference.sources import mask_credentials

log = logging.getLogger(__name__)

__all__ = [
    "DeliveryError",
    "MqttTransport",
    "OutgoingMessage",
    "Transport",
    "WebhookTransport",
    "signature",
]

SIGNATURE_HEADER = "X-Nightwatch-Signature"
USER_AGENT = "nightwatch-alerts/1"
KEEPALIVE_S = 30
# HTTP answers worth trying again: the server is busy, overloaded or restarting
RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    """A try failed; `reason` says why in words; `permanent` when trying again cannot help
    (refused credentials, a 404)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One alert to one destination: `topic` below the destination (e.g. `east-gallery/high`,
    `console/operator_check_unanswered`) and the JSON body."""

    topic: str
    body: bytes


class Transport(Protocol):
    kind: str  # "MQTT", "webhook": said on screen ("paged via MQTT")
    endpoint: str  # where, without credentials: "mqtt://broker.lan:1883", "https://host/path"

    def send(self, message: OutgoingMessage) -> None:
        """Return once the message is acknowledged; raise DeliveryError otherwise."""
        ...


def signature(secret: SharedSecret, body: bytes) -> str:
    """The value of X-Nightwatch-Signature for a body."""
    return "sha256=" + hmac.new(secret.value.encode("utf-8"), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- MQTT


class MqttTransport:
    """Publishes to `PREFIX/DESTINATION/<message topic>` with QoS 1."""

    kind = "MQTT"

    def __init__(
        self,
        config: MqttDestination,
        destination: str,
        credentials: Credentials | None = None,
    ) -> None:
        self.config = config
        self.destination = destination
        self._credentials = credentials
        scheme = "mqtts" if config.tls else "mqtt"
        self.endpoint = f"{scheme}://{config.host}:{config.resolved_port}"

    def topic(self, message: OutgoingMessage) -> str:
        return f"{self.config.topic_prefix}/{self.destination}/{message.topic}"

    def send(self, message: OutgoingMessage) -> None:
        import paho.mqtt.client as mqtt  # here: the core starts without it

        config = self.config
        timeout_s = config.timeout_s
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"nightwatch-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
            reconnect_on_failure=False,
        )
        client.connect_timeout = timeout_s
        if self._credentials is not None:
            client.username_pw_set(self._credentials.username, self._credentials.password)
        if config.tls:
            client.tls_set()  # the system's certificate authorities; the host name is checked
        connack: list[Any] = []
        client.on_connect = lambda _c, _u, _flags, code, _props: connack.append(code)
        deadline = time.monotonic() + timeout_s
        try:
            try:
                client.connect(config.host, config.resolved_port, keepalive=KEEPALIVE_S)
            except (OSError, ValueError) as exc:
                raise DeliveryError(
                    f"cannot connect to {self.endpoint}: {_os_reason(exc)}"
                ) from None
            while not connack:
                try:
                    self._pump(client, deadline, "the broker's answer to connecting")
                except DeliveryError:
                    if not connack:  # a refusal closes the connection after its answer
                        raise
            code = connack[0]
            if code.is_failure:
                permanent = code.value in (4, 5, 134, 135)  # bad user/password, not authorized
                raise DeliveryError(
                    f"{self.endpoint} refused the connection: {code}", permanent=permanent
                )
            info = client.publish(self.topic(message), message.body, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise DeliveryError(
                    f"{self.endpoint}: publish failed: {mqtt.error_string(info.rc)}"
                )
            while not info.is_published():
                self._pump(client, deadline, "the broker's acknowledgement (PUBACK)")
        finally:
            self._hang_up(client)

    def _pump(self, client: Any, deadline: float, waiting_for: str) -> None:
        import paho.mqtt.client as mqtt

        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError(
                f"{self.endpoint}: no {waiting_for} within {self.config.timeout_s:g} s"
            )
        rc = client.loop(timeout=min(0.2, left))
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise DeliveryError(
                f"{self.endpoint}: connection lost while waiting for {waiting_for} "
                f"({mqtt.error_string(rc)})"
            )

    @staticmethod
    def _hang_up(client: Any) -> None:
        try:
            if client.is_connected():
                client.disconnect()
                client.loop(timeout=0.05)  # writes the DISCONNECT, closes the socket
        except Exception:  # a connection that is already gone has nothing to say
            log.debug("MQTT disconnect failed", exc_info=True)
        # paho's client closes every socket it still holds when it is dropped (its __del__)


# --------------------------------------------------------------------------- webhook


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is raised as an HTTPError and reported


def shown_url(url: str) -> str:
    """A URL as logs, the audit log and the screen show it: no credentials, no query (tokens
    often travel there), no fragment."""
    parts = urlsplit(url)
    return mask_credentials(urlunsplit(parts._replace(query="", fragment="")), hide_user=True)


class WebhookTransport:
    """POSTs the JSON body; a 2xx answer is the acknowledgement."""

    kind = "webhook"

    def __init__(self, config: WebhookDestination, secret: SharedSecret | None = None) -> None:
        self.config = config
        self._secret = secret
        self.endpoint = shown_url(config.url)
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: OutgoingMessage) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Nightwatch-Topic": message.topic,
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret, message.body)
        request = urllib.request.Request(
            self.config.url, data=message.body, headers=headers, method="POST"
        )
        timeout_s = self.config.timeout_s
        try:
            with self._opener.open(request, timeout=timeout_s) as answer:
                answer.read(65536)
                status = answer.status
        except urllib.error.HTTPError as exc:
            exc.close()
            code = exc.code
            if 300 <= code < 400:
                reason = f"{self.endpoint} answered HTTP {code} (a redirect, not followed)"
            else:
                reason = f"{self.endpoint} answered HTTP {code} {exc.reason}".rstrip()
            raise DeliveryError(reason, permanent=code not in RETRYABLE_HTTP) from None
        except TimeoutError:  # socket.timeout is TimeoutError
            raise DeliveryError(f"{self.endpoint}: no answer within {timeout_s:g} s") from None
        except urllib.error.URLError as exc:
            cause = exc.reason
            if isinstance(cause, TimeoutError):
                raise DeliveryError(f"{self.endpoint}: no answer within {timeout_s:g} s") from None
            raise DeliveryError(f"cannot reach {self.endpoint}: {_os_reason(cause)}") from None
        except (OSError, ValueError) as exc:  # a connection reset mid-answer, a bad status line
            raise DeliveryError(f"{self.endpoint}: {_os_reason(exc)}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.endpoint} answered HTTP {status}", permanent=True)


def _os_reason(error: object) -> str:
    """An OS or library error in words, with any URL in it masked."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    else:
        text = str(error) or type(error).__name__
    return mask_credentials(text, hide_user=True)
