-- first_response_by_channel: per channel (platform and account), how many public items
-- needed a reply, how many got one, the reply rate and the mean first-response time in
-- business hours. Percentiles: see docs/warehouse.md (percentile_cont on PostgreSQL).
with

responses as (
    select * from first_responses
),

final as (
    select
        platform,
        account_id,
        count(*) as items_needing_reply,
        sum(is_answered) as items_answered,
        round(cast(sum(is_answered) * 1.0 / count(*) as numeric), 4) as reply_rate,
        round(cast(avg(response_business_hours) as numeric), 2) as mean_response_business_hours,
        max(response_business_hours) as max_response_business_hours
    from responses
    group by platform, account_id
)

select * from final
