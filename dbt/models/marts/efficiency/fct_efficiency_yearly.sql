-- PUE, ERE, ERF per block and site-local year: ratios of the summed energies (never an average of daily
-- ratios). Rebuilt in full from fct_efficiency_daily.
-- depends_on: {{ ref('fct_efficiency_daily') }}
{{ efficiency_over('year') }}
