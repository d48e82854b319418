"""Platform settings, read from `MCS_*` environment variables and an optional `.env` file.

Every process (CLI, daemons, Dagster, Streamlit) reads the same settings, so one environment
configures the whole platform. Secrets come only from the environment, never from files in git.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCS_", env_file=".env", extra="ignore")

    # None means "start and own an embedded server under data_dir" (see mcs.local_services).
    database_url: str | None = Field(default=None, description="PostgreSQL URL, e.g. postgresql://u:p@h:5432/mcs")
    mqtt_url: str | None = Field(default=None, description="MQTT broker URL, e.g. mqtt://127.0.0.1:1883")

    # "auto": use TimescaleDB when the extension can be created; "off": always plain partitioning.
    timescaledb: Literal["auto", "off"] = "auto"

    data_dir: Path = Field(default=Path(".mcs-data"), description="embedded servers, spools, reports")
    sites_dir: Path = Field(default=Path("sites"), description="site YAML + point schedule CSVs")
    report_dir: Path | None = Field(default=None, description="report artifacts; default data_dir/reports")

    # Ports of the embedded servers that `mcs up` owns (only used when the URLs above are unset).
    embedded_postgres_port: int = 55432
    embedded_mqtt_port: int = 18830
    dagster_port: int = 3000
    streamlit_port: int = 8501

    # How many days of simulated history `mcs up` backfills for the demo sites (0 = none).
    demo_backfill_days: int = 30

    @property
    def reports_path(self) -> Path:
        return self.report_dir or self.data_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
