"""The site/point registry: site files (YAML + CSV) validated into models and synced into `ref.*`.

    sites = load_site_files(settings.sites_dir)   # raises RegistryError naming file, line, field
    report = sync_registry(engine, sites)         # idempotent; stable point_ids; retires removed points
    rows = points_for(engine, site_id="ab-baldwinsville")
"""

from mcs.registry.errors import RegistryError
from mcs.registry.loader import load_site_files
from mcs.registry.models import KINDS, SUBSYSTEMS, BlockDefinition, Limit, Point, SiteDefinition
from mcs.registry.queries import DeviceRow, PointRow, devices_for, points_for
from mcs.registry.sync import SyncReport, sync_registry
from mcs.registry.units import CANONICAL_UNITS, is_canonical_unit

__all__ = [
    "CANONICAL_UNITS", "KINDS", "SUBSYSTEMS", "BlockDefinition", "DeviceRow", "Limit", "Point", "PointRow",
    "RegistryError", "SiteDefinition", "SyncReport", "devices_for", "is_canonical_unit", "load_site_files",
    "points_for", "sync_registry",
]
