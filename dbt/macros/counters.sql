{#- Interval energy from a cumulative register (kWh, kWht), domain §6.9.4 / §7.2.

    `cur` is the register at the end of this interval (last reading), `prev` at the end of the
    previous interval with a reading, `first` the first reading of this interval, `wrap_at` the
    value where the register rolls over (2^bits × scale, null for floats).

    * prev unknown (the first reading ever)          → cur − first (only what this interval saw)
    * cur ≥ prev                                      → cur − prev
    * cur < prev, prev in the top half of the range   → rollover: cur + wrap_at − prev
    * cur < prev otherwise                            → meter replaced or reset: the new register
                                                        counted from 0, so cur (flagged 'reset';
                                                        the energy between the old meter's last
                                                        reading and the swap is lost, the
                                                        integrated-power cross-check shows it) -#}
{% macro counter_delta(cur, prev, first, wrap_at) -%}
    case
        when {{ prev }} is null then greatest({{ cur }} - {{ first }}, 0)
        when {{ cur }} >= {{ prev }} then {{ cur }} - {{ prev }}
        when {{ wrap_at }} is not null and {{ prev }} > 0.5 * {{ wrap_at }} then {{ cur }} + {{ wrap_at }} - {{ prev }}
        else {{ cur }}
    end
{%- endmacro %}

{% macro counter_event(cur, prev, wrap_at) -%}
    case
        when {{ prev }} is null then 'first_reading'
        when {{ cur }} >= {{ prev }} then 'ok'
        when {{ wrap_at }} is not null and {{ prev }} > 0.5 * {{ wrap_at }} then 'rollover'
        else 'reset'
    end
{%- endmacro %}


{#- SELECT of interval energy per cumulative register and 5-minute bucket for the meters of
    `meter_roles` (int_meters_paired), reading `counter_lookback_days` before the window so the
    window's first bucket has its predecessor; callers keep the window's rows. The delta is
    attributed to the bucket whose reading closes it: a gap's energy lands in the first bucket after
    the gap (spans_gap), so totals are conserved. A macro rather than an ephemeral model so dbt unit
    tests can feed fct_rollup_5m / int_meters_paired rows straight into the models that use it. -#}
{% macro counter_deltas_5m(meter_roles) -%}
    select
        site_id,
        block_id,
        meter_tag,
        meter_role,
        energy_point_id,
        power_point_id,
        bucket,
        local_date,
        n as n_counter_readings,
        last_value as register_value,
        {{ counter_delta('last_value', 'prev_value', 'first_value', 'wrap_at') }} as energy,
        {{ counter_event('last_value', 'prev_value', 'wrap_at') }} as counter_event,
        coalesce(prev_bucket < bucket - interval '5 minutes', false) as spans_gap
    from (
        select
            m.site_id,
            m.block_id,
            m.meter_tag,
            m.meter_role,
            m.energy_point_id,
            m.power_point_id,
            m.wrap_at,
            r.bucket,
            r.local_date,
            r.n,
            r.first_value,
            r.last_value,
            lag(r.last_value) over (partition by r.point_id order by r.bucket) as prev_value,
            lag(r.bucket) over (partition by r.point_id order by r.bucket) as prev_bucket
        from {{ ref('fct_rollup_5m') }} as r
        inner join {{ ref('int_meters_paired') }} as m on r.point_id = m.energy_point_id
        where
            r.n > 0
            and m.meter_role in ('{{ meter_roles | join("', '") }}')
            and {{ local_date_in_window('r.local_date', var('counter_lookback_days')) }}
    ) as readings
{%- endmacro %}
