-- unanswered_items: public items that need a reply and have none from the council,
-- with their age in business hours as of the last refresh of the derived tables (the
-- pipeline pass's as-of time, item_responses.computed_at; working days of
-- business_calendar only). A backfilled day therefore shows ages as of that day.
with

responses as (
    select * from item_responses
    where needs_reply and first_reply_at is null
),

live_items as (
    select
        platform,
        item_id,
        kind,
        account_id,
        root_id,
        text,
        url
    from items
    where deleted_at is null
),

clock as (
    -- dialect: sqlite
    select cast(strftime('%s', max(computed_at)) as integer) as now_epoch
    from item_responses
    -- dialect: postgresql
    select cast(extract(epoch from max(computed_at)) as bigint) as now_epoch
    from item_responses
    -- dialect: end
),

ages as (
    select
        r.platform,
        r.item_id,
        sum(
            case
                when c.closes_epoch <= r.created_epoch or c.opens_epoch >= k.now_epoch then 0
                else
                    (
                        case
                            when c.closes_epoch < k.now_epoch then c.closes_epoch
                            else k.now_epoch
                        end
                    )
                    - (
                        case
                            when c.opens_epoch > r.created_epoch then c.opens_epoch
                            else r.created_epoch
                        end
                    )
            end
        ) / 3600.0 as age_business_hours
    from responses as r
    cross join clock as k
    left join business_calendar as c
        on c.closes_epoch > r.created_epoch and c.opens_epoch < k.now_epoch
    group by r.platform, r.item_id
),

final as (
    select
        r.platform,
        r.item_id,
        i.kind,
        r.account_id,
        i.root_id,
        r.created_at,
        coalesce(a.age_business_hours, 0) as age_business_hours,
        i.text,
        i.url
    from responses as r
    inner join live_items as i
        on i.platform = r.platform and i.item_id = r.item_id
    left join ages as a
        on a.platform = r.platform and a.item_id = r.item_id
)

select * from final
