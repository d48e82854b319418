select
    contract_ref,
    site_id,
    block_id,
    kind as contract_kind,
    counterparty,
    start_date,
    end_date,
    currency,
    availability_class,
    committed_kw,
    racks,
    terms,
    retired_at,
    retired_at is null as is_active
from {{ source('ref', 'contracts') }}
