{#- Custom schemas are used verbatim (staging, intermediate, marts, reports), not prefixed with the
    target schema: other components (Dagster, Streamlit, GX) query marts.fct_… by fixed names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
