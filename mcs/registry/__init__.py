"""The site/point registry: site files (YAML + CSV) validated into models and synced into `ref.*`.

    sites = load_site_files(settings.sites_dir)   # raises RegistryError naming file, line, field
    report = sync_registry(engine, sites)         # idempotent; stable point_ids; retires removed points
    rows = points_for(engine, site_id="ab-baldwinsville")
"""

from mcs.registry.errors import RegistryError
from mcs.registry.loader import load_site_files
from mcs.registry.models import BlockDefinition, Limit, Point, SiteDefinition

__all__ = ["BlockDefinition", "Limit", "Point", "RegistryError", "SiteDefinition", "load_site_files"]
