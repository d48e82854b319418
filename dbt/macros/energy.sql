{#- 5-minute intervals a site-local day (or month) really has: 288 normally, 276/300 on DST days. -#}
{% macro expected_intervals(start_date_expr, end_date_expr, tz_expr) -%}
    (extract(epoch from {{ local_day_start(end_date_expr, tz_expr) }} - {{ local_day_start(start_date_expr, tz_expr) }}) / 300.0)
{%- endmacro %}

{#- 'a', 'b' list of the billable modes, for SQL IN (…). -#}
{% macro billable_modes_sql() -%}
    {{ "'" ~ var('billable_modes') | join("', '") ~ "'" }}
{%- endmacro %}
