-- Share of active customers with usage in the month; also per feature.
with total as (
    select month, dimension, segment, 100.0 * adopters / nullif(active_customers, 0) as value
    from usage_slice_month
),
features as (
    select feature from usage_features
),
by_feature as (
    select month, feature, customers from usage_feature_month
),
feature_rows as (
    select m.month, 'feature' as dimension, features.feature as segment,
        100.0 * coalesce(by_feature.customers, 0) / nullif(m.active_customers, 0) as value
    from mrr_month as m
    cross join features
    left join by_feature on by_feature.month = m.month and by_feature.feature = features.feature
    where m.dimension = 'all'
),
final as (
    select * from total
    union all
    select * from feature_rows
)
select * from final
