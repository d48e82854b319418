select
    b.site_id,
    b.block_id,
    b.site_id || '/' || b.block_id as block_key,
    b.block_name,
    b.it_capacity_kw,
    b.rack_count,
    b.availability_class,
    b.block_status,
    b.commissioned_on,
    b.edge_id,
    s.timezone,
    b.is_active
from {{ ref('stg_ref__blocks') }} as b
inner join {{ ref('stg_ref__sites') }} as s on b.site_id = s.site_id
