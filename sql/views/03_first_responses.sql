-- first_responses: one row per public item that needed a reply, with the council's first
-- reply in its thread (if any) and the time it took in business hours.
with

responses as (
    select * from item_responses
    where needs_reply
),

final as (
    select
        platform,
        account_id,
        item_id,
        created_at,
        first_reply_id,
        first_reply_at,
        response_business_hours,
        case when first_reply_at is null then 0 else 1 end as is_answered
    from responses
)

select * from final
