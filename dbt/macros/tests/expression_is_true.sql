{#- Fails for rows where the SQL boolean expression is false. NULL passes unless `null_is_false`. -#}
{% test expression_is_true(model, expression, null_is_false=false) %}
select *
from {{ model }}
where not {% if null_is_false %}coalesce(({{ expression }}), false){% else %}({{ expression }}){% endif %}
{% endtest %}
