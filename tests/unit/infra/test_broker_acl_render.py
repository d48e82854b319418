"""Pure parts of the broker ACL generator: grants per edge, validation, password hashing."""

from __future__ import annotations

import base64

import pytest

from mcs.broker_acl import (
    SERVICE_ACCOUNTS,
    broker_accounts,
    complete_credentials,
    edge_account,
    hash_password,
    render_acl,
    render_edge_bridge,
    render_emqx_acl,
    render_passwd,
)

# Written by `mosquitto_passwd -b -c pw alice secret` (mosquitto 2.0.11): an independent vector.
MOSQUITTO_LINE = ("alice:$7$101$k0mc8h0KPwaOk/R0$og4M1moTnrIMGNyEM3XbFXKTmPNOyLRRUlIWbEJvGlHzkbrUcefPgrHxB"
                  "pbEkEZjYsW142Ti8dUMbh1wnCjRmA==")


def test_password_hash_matches_mosquitto_passwd() -> None:
    salt = base64.b64decode(MOSQUITTO_LINE.split("$")[3])
    assert f"alice:{hash_password('secret', salt=salt)}" == MOSQUITTO_LINE


def test_fresh_hashes_are_salted() -> None:
    assert hash_password("x") != hash_password("x")
    assert hash_password("x").startswith("$7$101$")


def test_edge_grants_are_confined_to_its_block() -> None:
    account = edge_account("ab-baldwinsville", "block-01", "edge-ab-bville-01")
    assert account.username == "edge-ab-bville-01"
    topics = {(g.access, g.topic) for g in account.grants}
    assert ("write", "microlink/ab-baldwinsville/block-01/thermal-hx/+") in topics
    assert ("write", "microlink/ab-baldwinsville/block-01/edge/+") in topics
    assert ("write", "microlink/ab-baldwinsville/block-01/command/response") in topics
    assert ("read", "microlink/ab-baldwinsville/block-01/command/+") in topics
    # No wildcard above the block, and the edge can never write a command target.
    assert all(g.topic.startswith("microlink/ab-baldwinsville/block-01/") for g in account.grants)
    assert not any(g.access != "read" and g.topic.endswith("command/+") for g in account.grants)


@pytest.mark.parametrize(("site", "block"), [("ab/x", "block-01"), ("ab", "block-+"), ("#", "b"), ("", "b")])
def test_ids_that_would_widen_a_grant_are_rejected(site: str, block: str) -> None:
    with pytest.raises(ValueError):
        edge_account(site, block)


def test_duplicate_usernames_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        broker_accounts([("site-a", "block-01", "edge-1"), ("site-b", "block-01", "edge-1")])


def test_acl_text_lists_users_with_their_topics() -> None:
    text = render_acl(broker_accounts([("site-a", "block-01", None)]))
    section = text.split("user edge-site-a-block-01\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[-1] == "topic read microlink/site-a/block-01/command/+"
    assert "topic write microlink/site-a/block-01/alarms/+" in section
    assert "user mcs-ingest\ntopic read microlink/#" in text


def test_passwords_come_from_env_then_known_then_generated() -> None:
    accounts = broker_accounts([("site-a", "block-01", None)])
    passwords = complete_credentials(accounts, {"edge-site-a-block-01": "kept"},
                                     {"MCS_BROKER_PASSWORD_MCS_INGEST": "from-env"})
    assert passwords["mcs-ingest"] == "from-env"
    assert passwords["edge-site-a-block-01"] == "kept"
    assert len(passwords["mcs-admin"]) >= 24
    assert len(render_passwd(accounts, passwords).splitlines()) == len(SERVICE_ACCOUNTS) + 1
    with pytest.raises(KeyError):
        render_passwd(accounts, {})


def test_edge_bridge_routes_are_the_acl_grants() -> None:
    account = edge_account("ab-baldwinsville", "block-01", "edge-ab-bville-01")
    text = render_edge_bridge(account, "broker.example.net", 8883)
    routes = [line.split()[1:] for line in text.splitlines() if line.startswith("topic ")]
    assert len(routes) == len(account.grants)
    assert ["microlink/ab-baldwinsville/block-01/command/+", "in", "1"] in routes
    assert all(direction == "out" for topic, direction, _ in routes if not topic.endswith("command/+"))
    assert "remote_clientid edge-ab-bville-01" in text
    assert "address broker.example.net:8883" in text
    assert "max_queued_messages 10000" in text


def test_emqx_acl_carries_the_same_grants_and_denies_the_rest() -> None:
    accounts = broker_accounts([("site-a", "block-01", None)])
    lines = render_emqx_acl(accounts).splitlines()
    assert lines[-1] == "{deny, all}."
    rules = [line for line in lines if line.startswith("{allow")]
    assert len(rules) == sum(len(a.grants) for a in accounts)
    assert ('{allow, {username, "edge-site-a-block-01"}, subscribe, ["microlink/site-a/block-01/command/+"]}.'
            in rules)
    assert '{allow, {username, "mcs-ingest"}, subscribe, ["microlink/#"]}.' in rules
    assert '{allow, {username, "mcs-admin"}, all, ["#"]}.' in rules
