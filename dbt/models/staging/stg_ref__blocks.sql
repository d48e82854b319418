select
    site_id,
    block_id,
    name as block_name,
    it_capacity_kw,
    rack_count,
    availability_class,
    status as block_status,
    commissioned_on,
    edge_id,
    retired_at,
    retired_at is null as is_active
from {{ source('ref', 'blocks') }}
