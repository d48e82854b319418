"""The one place the daemons create paho-mqtt 2 clients, for MQTT 5 or MQTT 3.1.1.

Why two protocols: the platform is built for MQTT 5 (shared subscriptions let several ingestor or
alarm-engine replicas split the load; session expiry bounds what a broker keeps for a replica that is
gone; receive maximum bounds what is in flight). `mcs up` on a machine without Mosquitto runs the
pure-Python amqtt broker, which speaks MQTT 3.1.1 only, so the daemons must be able to speak it too
(`MCS_MQTT_PROTOCOL=3.1.1`, which `mcs up` sets itself for amqtt).

What 3.1.1 changes for the daemons, and what this module does about it:
* no shared subscriptions: `subscription()` returns the plain topic, so ONE replica per group
  (a second one would receive every message too); a warning says so;
* persistent session = `clean_session=False` (no session expiry, no receive maximum: the broker's own
  limits apply — Mosquitto's max_inflight_messages, amqtt has none);
* manual acknowledgement after commit works the same (paho's `ack()` is protocol-independent);
* no properties: connect/publish/disconnect properties are dropped (`publish_properties()` gives None),
  a disconnect cannot end the session (`disconnect(end_session=True)` logs what it does instead),
  subscribe options such as no-local are not sent (logged).
Callbacks use paho's CallbackAPIVersion.VERSION2 on both protocols, so reason codes are `ReasonCode`
objects either way (`failed()`), and the daemons keep one set of callbacks.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcs.runtime import UserError, mqtt_host_port

log = logging.getLogger("mcs.mqtt")

MQTT5 = mqtt.MQTTv5
MQTT311 = mqtt.MQTTv311
ProtocolName = Literal["5", "3.1.1"]
_ALIASES = {"5": "5", "5.0": "5", "v5": "5", "mqttv5": "5", "3.1.1": "3.1.1", "311": "3.1.1", "v311": "3.1.1",
            "mqttv311": "3.1.1"}


class MqttClientSettings(BaseSettings):
    """MCS_MQTT_PROTOCOL: "5" (default) or "3.1.1" (amqtt; one replica per group)."""

    model_config = SettingsConfigDict(env_prefix="MCS_MQTT_", env_file=".env", extra="ignore")

    protocol: ProtocolName = "5"

    @field_validator("protocol", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> str:
        name = _ALIASES.get(str(value).strip().lower())
        if name is None:
            raise ValueError(f"MCS_MQTT_PROTOCOL {value!r}: expected 5 or 3.1.1")
        return name


def protocol_for(value: str | MqttClientSettings | None = None) -> int:
    """paho protocol constant for a protocol name, a settings object, or (None) MCS_MQTT_PROTOCOL."""
    if isinstance(value, str):
        name = _ALIASES.get(value.strip().lower())
        if name is None:
            raise UserError(f"MQTT protocol {value!r}: expected 5 or 3.1.1")
    else:
        try:
            name = (value or MqttClientSettings()).protocol
        except ValidationError as exc:
            raise UserError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return MQTT5 if name == "5" else MQTT311


def protocol_name(protocol: int) -> str:
    return "5" if protocol == MQTT5 else "3.1.1"


def new_client(client_id: str, protocol: int, *, url: str, persistent: bool, session_expiry_s: int = 0,
               receive_maximum: int | None = None, manual_ack: bool = False, keepalive: int = 30,
               max_inflight: int | None = None, max_queued: int | None = None) -> mqtt.Client:
    """A paho client for `url`, `connect_async` already called (set callbacks, then `loop_start()`).

    persistent=True: MQTT 5 clean_start=False + SessionExpiryInterval; 3.1.1 clean_session=False (the
    broker keeps the session until it expires it by its own rules). persistent=False: a clean session
    that ends with the connection. receive_maximum applies on MQTT 5 only. max_inflight/max_queued are
    paho's outgoing limits (paho refuses to change them once connect_async has been called)."""
    host, port = mqtt_host_port(url)
    parsed = urlparse(url)
    if protocol == MQTT5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTT5, manual_ack=manual_ack)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTT311,
                             clean_session=not persistent, manual_ack=manual_ack)
    if parsed.username:
        client.username_pw_set(unquote(parsed.username), unquote(parsed.password or "") or None)
    if parsed.scheme == "mqtts":
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(1, 30)
    if max_inflight is not None:
        client.max_inflight_messages_set(max_inflight)
    if max_queued is not None:
        client.max_queued_messages_set(max_queued)
    if protocol == MQTT5:
        props = Properties(PacketTypes.CONNECT)
        if persistent:
            props.SessionExpiryInterval = session_expiry_s
        if receive_maximum:
            props.ReceiveMaximum = min(65535, receive_maximum)
        client.connect_async(host, port, keepalive=keepalive, clean_start=not persistent, properties=props)
    else:
        if receive_maximum:
            log.info("%s: MQTT 3.1.1 has no receive maximum; the broker's in-flight limit applies", client_id)
        client.connect_async(host, port, keepalive=keepalive)
    return client


_warned_groups: set[str] = set()


def subscription(group: str, topic: str, protocol: int) -> str:
    """`$share/{group}/{topic}` on MQTT 5; the plain topic on 3.1.1, where a group can have one replica only."""
    if protocol == MQTT5:
        return f"$share/{group}/{topic}"
    if group not in _warned_groups:
        _warned_groups.add(group)
        log.warning("MQTT 3.1.1: no shared subscriptions, so group %s subscribes %s directly — run ONE replica "
                    "(several replicas need an MQTT 5 broker: each would receive and process every message)",
                    group, topic)
    return topic


def subscribe(client: mqtt.Client, topics: list[str], protocol: int, *, qos: int = 1,
              no_local: bool = False) -> tuple[int, int | None]:
    """Subscribe all `topics` in one SUBSCRIBE. no_local is an MQTT 5 option; on 3.1.1 it is not sent
    (the caller must recognise its own messages itself) and that is logged."""
    if protocol == MQTT5:
        return client.subscribe([(t, SubscribeOptions(qos=qos, noLocal=no_local)) for t in topics])
    if no_local:
        log.info("MQTT 3.1.1: no no-local option; own messages on %s come back to this client", ", ".join(topics))
    return client.subscribe([(t, qos) for t in topics])


def disconnect(client: mqtt.Client, protocol: int, *, end_session: bool = False) -> None:
    """Disconnect; end_session=True ends a persistent session now (MQTT 5: SessionExpiryInterval 0).
    MQTT 3.1.1 cannot end a session on DISCONNECT: the caller has unsubscribed everything first, so the
    session the broker keeps queues nothing (Mosquitto drops it after persistent_client_expiration)."""
    if end_session and protocol == MQTT5:
        props = Properties(PacketTypes.DISCONNECT)
        props.SessionExpiryInterval = 0
        client.disconnect(properties=props)
        return
    if end_session:
        log.info("MQTT 3.1.1: the session cannot be ended on disconnect; it stays without subscriptions")
    client.disconnect()


def publish_properties(protocol: int, user_properties: list[tuple[str, str]]) -> Properties | None:
    """PUBLISH properties carrying user properties on MQTT 5; None on 3.1.1 (no properties there)."""
    if protocol != MQTT5:
        return None
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = user_properties
    return props


def failed(reason: Any) -> bool:
    """True when a VERSION2 callback's reason code (CONNACK, PUBACK, DISCONNECT) says failure; the same
    on both protocols (paho maps 3.1.1 return codes to ReasonCode)."""
    return bool(getattr(reason, "is_failure", False))


def refused_subscriptions(reason_codes: list[Any]) -> int:
    """How many topics of a SUBACK the broker refused (0x80 on 3.1.1, ≥ 0x80 on 5)."""
    return sum(1 for rc in reason_codes if failed(rc))


_NOT_MQTT5 = ("the broker does not speak MQTT 5 — use an MQTT 5 broker (Mosquitto ≥ 1.6, EMQX, HiveMQ) or set "
              "MCS_MQTT_PROTOCOL=3.1.1 (one replica per group; `mcs up` does this for its amqtt fallback)")


def connect_refusal_hint(reason: Any, protocol: int) -> str:
    """A hint for a refused CONNECT that names the protocol setting."""
    if "protocol" in str(reason).lower() and protocol == MQTT5:
        return f": {_NOT_MQTT5}"
    return ""


def no_connack_hint(reason: Any, protocol: int) -> str:
    """A hint for a disconnect before the first CONNACK: amqtt 0.12 does not refuse an MQTT 5 CONNECT, it
    never answers, and paho gives up after the keepalive ("Keep alive timeout") and retries forever."""
    if protocol == MQTT5 and "keep alive" in str(reason).lower():
        return f" — no CONNACK: perhaps {_NOT_MQTT5}"
    return ""
