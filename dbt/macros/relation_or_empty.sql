{#- A source that another component's migration creates may not exist yet in a given database (e.g.
    ops.alarm_events before migration 0003_alarms). Staging then yields an empty, correctly typed
    relation instead of failing the whole build; `columns` is a list of (name, type) pairs. -#}
{% macro relation_or_empty(source_name, table_name, columns) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) -%}
    {%- endif -%}
    {%- if found is not none or not execute -%}
        {{ rel }}
    {%- else -%}
        (
            select
            {%- for name, type in columns %}
                cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
            where false
        ) as {{ table_name }}
    {%- endif -%}
{%- endmacro %}
