{#- Finance/ESG-facing copy of marts.fct_esg_monthly with an enforced contract (domain §7.8). -#}
select * from {{ ref('fct_esg_monthly') }}
