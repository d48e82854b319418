select
    point_id,
    priority,
    direction,
    value as limit_value
from {{ source('ref', 'alarm_limits') }}
