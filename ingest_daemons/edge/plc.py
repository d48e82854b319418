"""The safety PLC's mode-request interface, as the edge sees it (domain §5.1, §5.6).

The edge never writes mode registers over Modbus (the pollers cannot). A cloud `mode_override` is
a *request* passed to the PLC's separate, authenticated request path; the PLC decides. What that
path is depends on the site: `plc_requests` = `none` refuses every request, `module:Class` loads an
implementation (constructed with (site_id, block_id, database_url)), `auto` uses the simulator's
request interface (`simulator.plc_requests:SimulatedPlcRequests`) when the simulator package is
installed, else `none`.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol


class PlcRequests(Protocol):
    def request_mode(self, target_mode: str, operator: str, reason: str) -> dict[str, Any]:
        """Pass a mode request to the PLC; returns {"status": accepted|rejected|error, "detail": …, …}."""
        ...


class NoPlcInterface:
    def request_mode(self, target_mode: str, operator: str, reason: str) -> dict[str, Any]:
        return {"status": "rejected", "detail": "this edge has no PLC request interface configured "
                "(MCS_EDGE_PLC_REQUESTS); the pollers never write mode registers"}


def load(spec: str, site_id: str, block_id: str, database_url: str | None) -> PlcRequests:
    if spec == "none":
        return NoPlcInterface()
    if spec == "auto":
        if importlib.util.find_spec("simulator") is None or database_url is None:
            return NoPlcInterface()
        spec = "simulator.plc_requests:SimulatedPlcRequests"
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(site_id, block_id, database_url)
