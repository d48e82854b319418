-- Every point with the site time zone and block it belongs to, and where its accumulator wraps.
-- The roll-ups bucket hours and days in `timezone`; the energy models use `wrap_at`.
select
    p.point_id,
    p.site_id,
    p.block_id,
    p.tag,
    p.subsystem,
    p.equipment_tag,
    e.equipment_type,
    p.description,
    p.kind,
    p.unit,
    p.protocol,
    p.data_type,
    p.scale,
    p.range_min,
    p.range_max,
    p.poll_ms,
    p.billing_role,
    p.is_active,
    s.timezone,
    -- Register width × scale: a cumulative register restarts from 0 after this value.
    case
        when p.kind not in ('accumulator', 'counter') then null
        when p.snmp_type = 'Counter64' or p.data_type = 'uint64' then power(2::numeric, 64) * p.scale::numeric
        when p.data_type = 'int64' then power(2::numeric, 63) * p.scale::numeric
        when p.snmp_type in ('Counter32', 'Gauge32') or p.data_type = 'uint32'
            then power(2::numeric, 32) * p.scale::numeric
        when p.data_type = 'int32' then power(2::numeric, 31) * p.scale::numeric
        when p.data_type = 'uint16' then power(2::numeric, 16) * p.scale::numeric
        when p.data_type = 'int16' then power(2::numeric, 15) * p.scale::numeric
    end::double precision as wrap_at
from {{ ref('stg_ref__points') }} as p
inner join {{ ref('stg_ref__sites') }} as s on p.site_id = s.site_id
left join {{ ref('stg_ref__equipment') }} as e
    on p.site_id = e.site_id and p.block_id = e.block_id and p.equipment_tag = e.equipment_tag
