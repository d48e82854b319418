"""The simulated safety PLC's remote mode-request interface (the edge's `mode_override` path).

A real PLC takes remote requests over a separate authenticated path, never over the read-only
Modbus map the edge polls (domain §5.1, §5.6). The simulated PLC's mode machine knows one operator
action, the MAINTENANCE key-switch (T04/T07/T10, and MAINTENANCE COMPLETE → REJECT, T11), which the
MAINTENANCE scenario drives through `ops.sim_scenarios`. So this interface maps:

* target MAINTENANCE → start the MAINTENANCE scenario (requested_by = the operator);
* target REJECT while in MAINTENANCE → stop it (maintenance complete → REJECT, never EXPORT);
* anything else → rejected: EXPORT/MIXED are never commanded (the PLC's automatic logic decides), and
  the simulated PLC has no remote "hold in REJECT" override (the real one has; see the edge README).

The running simulator picks the change up within its scenario poll (2 s) and the PLC register
(45403) follows, which is what the edge then reports back.
"""

from __future__ import annotations

from typing import Any

from mcs.db.engine import make_engine
from simulator import scenario_store


class SimulatedPlcRequests:
    def __init__(self, site_id: str, block_id: str, database_url: str) -> None:
        self.site_id, self.block_id = site_id, block_id
        self.engine = make_engine(database_url)

    def _maintenance_active(self) -> bool:
        return any(s.name == "MAINTENANCE" and (s.site_id, s.block_id) == (self.site_id, self.block_id)
                   for s in scenario_store.active(self.engine))

    def request_mode(self, target_mode: str, operator: str, reason: str) -> dict[str, Any]:
        target = target_mode.upper()
        active = self._maintenance_active()
        if target == "MAINTENANCE":
            if active:
                return {"status": "accepted", "detail": "already in MAINTENANCE (key-switch on)"}
            sid = scenario_store.start(self.engine, self.site_id, self.block_id, "MAINTENANCE",
                                       requested_by=f"{operator}: {reason}"[:200])
            return {"status": "accepted", "detail": "MAINTENANCE requested", "plc_request_id": sid}
        if target == "REJECT" and active:
            scenario_store.stop(self.engine, self.site_id, self.block_id, "MAINTENANCE")
            return {"status": "accepted", "detail": "MAINTENANCE COMPLETE confirmed: the PLC returns to REJECT"}
        return {"status": "rejected",
                "detail": f"the simulated PLC accepts MAINTENANCE, or REJECT to leave MAINTENANCE; not {target}"}
