{#- Lender covenants are configuration (domain §7.7 ➜): ref.contracts.terms.covenants of a `lender`
    contract is a list of {metric, basis, lock_up_below|lock_up_above, default_below|default_above,
    cure_periods}. These macros read one threshold and classify a value against it. -#}

{#- numeric threshold `key` of covenant `metric` from a terms jsonb expression, NULL when absent -#}
{% macro covenant_threshold(terms_expr, metric, key) -%}
    (
        select (cov ->> '{{ key }}')::numeric
        from jsonb_array_elements(coalesce({{ terms_expr }} -> 'covenants', '[]'::jsonb)) as cov
        where cov ->> 'metric' = '{{ metric }}'
        limit 1
    )
{%- endmacro %}

{#- 'default' / 'lock_up' / 'pass' for a value against a covenant's thresholds (below- or above-type,
    whichever the terms define); 'not_tested' when the value or the covenant is missing. -#}
{% macro covenant_status(value_expr, terms_expr, metric) -%}
    case
        when {{ value_expr }} is null then 'not_tested'
        when {{ covenant_threshold(terms_expr, metric, 'default_below') }} is not null
            and {{ value_expr }} < {{ covenant_threshold(terms_expr, metric, 'default_below') }} then 'default'
        when {{ covenant_threshold(terms_expr, metric, 'default_above') }} is not null
            and {{ value_expr }} > {{ covenant_threshold(terms_expr, metric, 'default_above') }} then 'default'
        when {{ covenant_threshold(terms_expr, metric, 'lock_up_below') }} is not null
            and {{ value_expr }} < {{ covenant_threshold(terms_expr, metric, 'lock_up_below') }} then 'lock_up'
        when {{ covenant_threshold(terms_expr, metric, 'lock_up_above') }} is not null
            and {{ value_expr }} > {{ covenant_threshold(terms_expr, metric, 'lock_up_above') }} then 'lock_up'
        when coalesce(
            {{ covenant_threshold(terms_expr, metric, 'default_below') }},
            {{ covenant_threshold(terms_expr, metric, 'default_above') }},
            {{ covenant_threshold(terms_expr, metric, 'lock_up_below') }},
            {{ covenant_threshold(terms_expr, metric, 'lock_up_above') }}
        ) is null then 'not_tested'
        else 'pass'
    end
{%- endmacro %}
