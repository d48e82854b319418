select
    site_id,
    site_name,
    timezone,
    country,
    currency,
    grid_hz,
    grid_region,
    latitude,
    longitude,
    host_name,
    site_status,
    schedule_revision,
    is_active
from {{ ref('stg_ref__sites') }}
