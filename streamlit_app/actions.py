"""Operator actions from the UI, routed through the owning components' APIs (never direct SQL).

Alarm actions go through mcs.alarms.actions (the alarm engine's state machine, which audits them
and refuses roles that may not act); commands through mcs.commands (ops.commands + the MQTT
command topic). The UI checks the role first as well, so a finance user never even reaches the
call; the server-side check is what makes it safe.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from streamlit_app import queries as q
from streamlit_app.auth import User, can_act


class ActionUnavailable(RuntimeError):
    """The component providing this action is not installed in this checkout."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def _alarm_actions() -> Any:
    try:
        from mcs.alarms import actions
    except ImportError as exc:
        raise ActionUnavailable(f"alarm actions are not available ({exc}); the alarm engine is not installed") from None
    return actions


def _refused(user: User, what: str) -> Outcome:
    return Outcome(False, f"Your role ({user.role}) may view alarms and commands but not {what}. "
                          "Only operators and admins act.")


def _call(fn: Any, **kwargs: Any) -> Any:
    """Call with the keyword arguments the installed API accepts (the contract names them)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(**kwargs)
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def _refusal_type(actions: Any) -> tuple[type[BaseException], ...]:
    # ActionRefused (role) and the other one-line UserErrors (e.g. shelving a closed alarm) are shown as such.
    from mcs.runtime import UserError

    return (getattr(actions, "ActionRefused", PermissionError), UserError)


def ack(user: User, alarm_ids: list[str], comment: str | None = None) -> Outcome:
    if not can_act(user.role):
        return _refused(user, "acknowledge alarms")
    if not alarm_ids:
        return Outcome(False, "Select at least one alarm to acknowledge.")
    actions = _alarm_actions()
    try:
        result = _call(actions.ack, engine=q.engine(), alarm_ids=list(alarm_ids), actor=user.username,
                       role=user.role, comment=comment or None)
    except _refusal_type(actions) as exc:
        return Outcome(False, f"Refused: {exc}")
    finally:
        q.clear_alarm_caches()
    n = len(result) if isinstance(result, list | tuple | set) else len(alarm_ids)
    return Outcome(True, f"Acknowledged {n} alarm(s).")


def shelve(user: User, alarm_id: str, hours: float, reason: str) -> Outcome:
    if not can_act(user.role):
        return _refused(user, "shelve alarms")
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 500:
        return Outcome(False, "A shelving reason of 3–500 characters is required (ISA-18.2 §4.4).")
    if not 0.5 <= hours <= 24:
        return Outcome(False, "Shelving lasts between 0.5 and 24 hours.")
    actions = _alarm_actions()
    try:
        _call(actions.shelve, engine=q.engine(), alarm_id=alarm_id, actor=user.username, role=user.role,
              duration=timedelta(hours=hours), reason=reason)
    except _refusal_type(actions) as exc:
        return Outcome(False, f"Refused: {exc}")
    finally:
        q.clear_alarm_caches()
    return Outcome(True, f"Shelved {alarm_id} for {hours:g} h.")


def unshelve(user: User, alarm_id: str, reason: str | None = None) -> Outcome:
    if not can_act(user.role):
        return _refused(user, "unshelve alarms")
    actions = _alarm_actions()
    try:
        _call(actions.unshelve, engine=q.engine(), alarm_id=alarm_id, actor=user.username, role=user.role,
              reason=reason or None)
    except _refusal_type(actions) as exc:
        return Outcome(False, f"Refused: {exc}")
    finally:
        q.clear_alarm_caches()
    return Outcome(True, f"Unshelved {alarm_id}.")


# -- commands --------------------------------------------------------------------------------------
MODE_OVERRIDE_TARGETS = ("REJECT", "MAINTENANCE")   # domain §5.6: the cloud may only ask for the safe states


def _commands_module() -> Any:
    try:
        from mcs import commands
    except ImportError as exc:
        raise ActionUnavailable(f"edge commands are not available ({exc}); mcs/commands.py is not installed") from None
    return commands


def request_mode_override(user: User, site: str, block: str, target_mode: str, reason: str,
                          mqtt_url: str | None = None) -> Outcome:
    if not can_act(user.role):
        return _refused(user, "send commands")
    reason = (reason or "").strip()
    if target_mode not in MODE_OVERRIDE_TARGETS:
        return Outcome(False, f"Mode override may only request {' or '.join(MODE_OVERRIDE_TARGETS)}.")
    if len(reason) < 3:
        return Outcome(False, "A reason is required for a mode override (it is audited).")
    return _request(user, site, block, "mode_override", {"target_mode": target_mode, "reason": reason}, mqtt_url)


def request_diagnostics(user: User, site: str, block: str, mqtt_url: str | None = None) -> Outcome:
    if not can_act(user.role):
        return _refused(user, "send commands")
    return _request(user, site, block, "diagnostics_request", {}, mqtt_url)


def _request(user: User, site: str, block: str, cmd: str, params: dict[str, Any], mqtt_url: str | None) -> Outcome:
    commands = _commands_module()
    if mqtt_url is None:
        from mcs.runtime import mqtt_url as platform_mqtt_url
        from mcs.settings import Settings

        mqtt_url = platform_mqtt_url(Settings())
    from mcs.runtime import UserError

    try:
        # mcs.commands records the request and its audit row (actor = source, role) in one transaction.
        request_id = _call(commands.request_command, engine=q.engine(), mqtt_url=mqtt_url, site_id=site,
                           block_id=block, cmd=cmd, params=params, source=f"operator:{user.username}",
                           role=user.role)
    except UserError as exc:
        return Outcome(False, f"Refused: {exc}")
    finally:
        q.commands.clear()  # type: ignore[attr-defined]
    status = (commands.command_status(q.engine(), request_id) or {}).get("status", "?")
    if status == "error":
        return Outcome(False, f"Command {cmd} recorded but the broker could not be reached (request {request_id}).")
    return Outcome(True, f"Command {cmd} {status} (request {request_id}).")
