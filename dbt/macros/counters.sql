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
