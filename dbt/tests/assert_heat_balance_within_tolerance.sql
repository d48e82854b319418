-- Energy balance per block and complete site-local day: the IT energy comes back as heat, exported
-- (heat-meter register) plus rejected (dry cooler, recomputed), less air-side and piping losses
-- (heat capture 0.85–0.95 per the design list), so (exported + rejected) / IT must lie in
-- [0.80, 1.02]; and loop 2 must carry what leaves it: |loop2 − (exported + rejected)| ≤ 5 %.
select
    e.site_id,
    e.block_id,
    e.local_date,
    e.it_kwh,
    h.kwht_metered,
    h.kwht_rejected_calculated,
    h.kwht_loop2,
    (h.kwht_metered + h.kwht_rejected_calculated) / nullif(e.it_kwh, 0) as heat_out_ratio
from {{ ref('fct_efficiency_daily') }} as e
inner join {{ ref('fct_heat_daily') }} as h
    on e.site_id = h.site_id and e.block_id = h.block_id and e.local_date = h.local_date
where
    h.missing_ratio < 0.05
    and e.it_kwh > 100
    and (
        (h.kwht_metered + h.kwht_rejected_calculated) / e.it_kwh not between 0.80 and 1.02
        or abs(h.kwht_loop2 - (h.kwht_metered + h.kwht_rejected_calculated)) > 0.05 * h.kwht_loop2
    )
