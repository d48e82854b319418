{#- The rebuild window of the incremental models: site-local dates, inclusive.

    --vars '{min_date: 2026-11-28, max_date: 2026-11-30}' rebuilds those days (every row of them is
    deleted and recomputed, so a day can be rebuilt after late data). Only one given: a one-day
    window. Neither: a full refresh (or first build) covers all history; an incremental run covers
    the last `default_window_days` days up to tomorrow (UTC), which includes today in every zone. -#}
{% macro window_dates() -%}
    {%- set lo = var('min_date', none) -%}
    {%- set hi = var('max_date', none) -%}
    {%- if lo is none and hi is none -%}
        {%- if not is_incremental() -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set today = modules.datetime.datetime.utcnow().date() -%}
        {%- set hi = (today + modules.datetime.timedelta(days=1)).isoformat() -%}
        {%- set lo = (today - modules.datetime.timedelta(days=var('default_window_days') | int)).isoformat() -%}
    {%- endif -%}
    {%- set lo = (lo if lo is not none else hi) | string -%}
    {%- set hi = (hi if hi is not none else lo) | string -%}
    {%- for d in [lo, hi] -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', d) -%}
            {{ exceptions.raise_compiler_error("min_date/max_date must be YYYY-MM-DD site-local dates, got '" ~ d ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if lo > hi -%}
        {{ exceptions.raise_compiler_error("min_date " ~ lo ~ " is after max_date " ~ hi) }}
    {%- endif -%}
    {{ return({'min_date': lo, 'max_date': hi}) }}
{%- endmacro %}


{#- SQL predicate: the UTC instant `ts_expr` falls inside the window of some site. Sargable (partition
    and chunk pruning, index ranges). At run time the exact bounds come from the sites' time zones
    (earliest local midnight of min_date − lookback, latest local midnight after max_date); while
    parsing, or without sites, one day of slack each side covers every zone (UTC−12…UTC+14). Pair
    it with ts_in_local_window for the per-site cut. -#}
{% macro ts_in_window(ts_expr, lookback_days=0) -%}
    {%- set w = window_dates() -%}
    {%- if w is none -%}
        true
    {%- else -%}
        {%- set bounds = none -%}
        {%- if execute -%}
            {%- set query -%}
                select
                    min((date '{{ w.min_date }}' - {{ lookback_days | int }})::timestamp at time zone timezone),
                    max((date '{{ w.max_date }}' + 1)::timestamp at time zone timezone)
                from {{ source('ref', 'sites') }}
            {%- endset -%}
            {%- set row = run_query(query).rows[0] -%}
            {%- if row[0] is not none -%}
                {%- set bounds = [row[0].isoformat(), row[1].isoformat()] -%}
            {%- endif -%}
        {%- endif -%}
        {%- if bounds is not none -%}
            {{ ts_expr }} >= timestamptz '{{ bounds[0] }}' and {{ ts_expr }} < timestamptz '{{ bounds[1] }}'
        {%- else -%}
            {{ ts_expr }} >= (date '{{ w.min_date }}' - {{ 1 + lookback_days | int }})::timestamp at time zone 'UTC'
            and {{ ts_expr }} < (date '{{ w.max_date }}' + 2)::timestamp at time zone 'UTC'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- SQL predicate: a site-local date column lies inside the window (optionally `lookback_days` before). -#}
{% macro local_date_in_window(date_expr, lookback_days=0) -%}
    {%- set w = window_dates() -%}
    {%- if w is none -%}
        true
    {%- else -%}
        {{ date_expr }} between date '{{ w.min_date }}' - {{ lookback_days | int }} and date '{{ w.max_date }}'
    {%- endif -%}
{%- endmacro %}


{#- pre_hook of the windowed incremental models: delete the window's rows, then the model's SELECT
    (strategy append) inserts them again — in one transaction, so readers never see a half day. -#}
{% macro delete_window(date_column='local_date') -%}
    {%- if is_incremental() -%}
        {%- set w = window_dates() -%}
        delete from {{ this }} where {{ local_date_in_window(date_column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- SQL predicate: the instant `ts_expr` falls on a site-local date of the window in zone `tz_expr`
    (exact; lets PostgreSQL range-scan (point_id, ts) per point). -#}
{% macro ts_in_local_window(ts_expr, tz_expr) -%}
    {%- set w = window_dates() -%}
    {%- if w is none -%}
        true
    {%- else -%}
        {{ ts_expr }} >= {{ local_day_start("date '" ~ w.min_date ~ "'", tz_expr) }}
        and {{ ts_expr }} < {{ local_day_start("date '" ~ w.max_date ~ "' + 1", tz_expr) }}
    {%- endif -%}
{%- endmacro %}
