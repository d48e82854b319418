-- Merged outage intervals of a block never overlap: SLA downtime counts each minute once.
select
    a.outage_id,
    b.outage_id as overlapping_outage_id
from {{ ref('int_block_outage_intervals') }} as a
inner join {{ ref('int_block_outage_intervals') }} as b
    on
        a.site_id = b.site_id
        and a.block_id = b.block_id
        and a.outage_id < b.outage_id
        and a.started_at < b.ended_at
        and a.ended_at > b.started_at
