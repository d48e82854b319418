{#- A constant from seeds/business/business_constants.csv as a scalar subquery (numeric), so every
    figure used by the business marts has one home and a documented source. A missing key yields
    NULL, which the not_null tests on the columns using it catch. -#}
{% macro bconst(key) -%}
    (select bc.value from {{ ref('business_constants') }} as bc where bc.key = '{{ key }}')
{%- endmacro %}
