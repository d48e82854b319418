select
    site_id,
    block_id,
    equipment_tag,
    equipment_type,
    subsystem as equipment_subsystem,
    description as equipment_description,
    retired_at,
    retired_at is null as is_active
from {{ source('ref', 'equipment') }}
