select
    site_id,
    name as site_name,
    timezone,
    country,
    currency,
    grid_hz,
    grid_region,
    latitude,
    longitude,
    host_name,
    status as site_status,
    schedule_revision,
    retired_at,
    retired_at is null as is_active
from {{ source('ref', 'sites') }}
