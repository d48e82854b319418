{#- Portable time buckets (plain PostgreSQL ≥ 14 and TimescaleDB alike: date_bin, not time_bucket).

    Minute and 5-minute buckets are the same in UTC and in every site zone (all UTC offsets are
    multiples of 5 minutes). Hours and days are site-local: the hour bucket subtracts the time
    elapsed since the local hour started, which stays right across DST changes (a repeated local
    hour gives two distinct buckets) and in half-hour zones. -#}
{% macro bucket_minutes(ts_expr, minutes) -%}
    date_bin(interval '{{ minutes }} minutes', {{ ts_expr }}, timestamptz '2000-01-01 00:00:00+00')
{%- endmacro %}

{% macro local_hour_bucket(ts_expr, tz_expr) -%}
    ({{ ts_expr }} - (({{ ts_expr }} at time zone {{ tz_expr }}) - date_trunc('hour', {{ ts_expr }} at time zone {{ tz_expr }})))
{%- endmacro %}

{% macro local_date(ts_expr, tz_expr) -%}
    cast(({{ ts_expr }} at time zone {{ tz_expr }}) as date)
{%- endmacro %}

{#- The instant a site-local date starts. -#}
{% macro local_day_start(date_expr, tz_expr) -%}
    (cast({{ date_expr }} as timestamp) at time zone {{ tz_expr }})
{%- endmacro %}
