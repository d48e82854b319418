"""Run a great-expectations 1.x suite on a small pandas frame and say, in words, what failed.

Why this shape: there is no maintained Dagster integration for GX 1.x (dagster-ge pins GX < 1), so
the asset checks build a frame from a *bounded* query (one partition's window, aggregated per point
or per class in SQL) and validate it here with an ephemeral context: nothing is persisted, no
project directory is needed, and a failed expectation names the offending rows (tag, class) so the
check's description tells finance exactly why a report was stopped.

GX is imported lazily: it costs seconds, and the code location should load without it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Expect:
    """One expectation: the GX class name, its arguments and a sentence for the failure message."""

    gx_class: str
    kwargs: dict[str, Any]
    describe: str
    id_columns: tuple[str, ...] = ()     # columns that name an offending row in the failure message


@dataclass
class Outcome:
    suite: str
    success: bool
    rows: int
    evaluated: int
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: {self.evaluated} expectations passed on {self.rows} rows"
        return f"{self.suite}: " + "; ".join(self.failures)


_CONTEXT: Any = None


def _context() -> Any:
    """One ephemeral GX context per process (creating one is cheap, importing GX is not)."""
    global _CONTEXT
    if _CONTEXT is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx

        _CONTEXT = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _CONTEXT.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # noqa: BLE001 - cosmetic only (progress bars in logs)
            pass
    return _CONTEXT


def _offenders(frame: pd.DataFrame, result: Any, expect: Expect, limit: int = 5) -> str:
    indices = list((result.result or {}).get("unexpected_index_list") or [])
    if not indices or not expect.id_columns:
        sample = (result.result or {}).get("partial_unexpected_list") or []
        return f"e.g. {sample[:limit]}" if sample else ""
    rows = []
    for idx in indices[:limit]:
        key = idx if not isinstance(idx, dict) else idx.get("index")
        try:
            row = frame.loc[key]
        except (KeyError, TypeError):
            continue
        rows.append(", ".join(f"{c}={row[c]}" for c in expect.id_columns if c in frame.columns))
    more = f" (+{len(indices) - limit} more)" if len(indices) > limit else ""
    return "[" + "; ".join(rows) + "]" + more


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _match(config: Any, unused: list[Expect]) -> Expect:
    """The Expect a result belongs to (results are not guaranteed to keep the suite's order)."""
    for expect in unused:
        if _snake(expect.gx_class) == config.type and all(config.kwargs.get(k) == v for k, v in expect.kwargs.items()):
            unused.remove(expect)
            return expect
    return Expect(config.type, {}, config.type)


def validate(frame: pd.DataFrame, suite_name: str, expectations: list[Expect]) -> Outcome:
    """Validate `frame` against `expectations`; failures are one sentence each."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = _context()
    source_name = f"mcs_{suite_name}"
    try:
        source = context.data_sources.get(source_name)
    except Exception:  # noqa: BLE001 - GX raises different errors for "not found" across 1.x releases
        source = None
    if source is None:
        source = context.data_sources.add_pandas(source_name)
        source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("window")
    batch = source.get_asset("frame").get_batch_definition("window").get_batch(
        batch_parameters={"dataframe": frame.reset_index(drop=True)})
    suite = gx.ExpectationSuite(name=suite_name)
    for expect in expectations:
        suite.add_expectation(getattr(gxe, expect.gx_class)(**expect.kwargs))
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    outcome = Outcome(suite_name, bool(result.success), len(frame), len(expectations))
    plain = frame.reset_index(drop=True)
    unused = list(expectations)
    for res in result.results:
        expect = _match(res.expectation_config, unused)
        if res.success:
            continue
        if res.exception_info and res.exception_info.get("raised_exception"):
            outcome.failures.append(f"{expect.describe}: could not evaluate "
                                    f"({res.exception_info.get('exception_message')})")
            continue
        count = (res.result or {}).get("unexpected_count")
        observed = (res.result or {}).get("observed_value")
        detail = f"{count} of {len(frame)} rows" if count is not None else f"observed {observed}"
        outcome.failures.append(f"{expect.describe}: {detail} {_offenders(plain, res, expect)}".strip())
    return outcome
