-- findings_per_day: how many findings were detected on each day (UTC) in each category,
-- and how many of them are still open (not resolved or dismissed).
with

source_findings as (
    select * from findings
),

dated as (
    select
        -- dialect: sqlite
        date(detected_at) as day,
        -- dialect: postgresql
        cast(detected_at at time zone 'UTC' as date) as day,
        -- dialect: end
        category,
        status
    from source_findings
),

final as (
    select
        day,
        category,
        count(*) as findings,
        sum(case when status in ('new', 'open', 'acknowledged') then 1 else 0 end) as still_open
    from dated
    group by day, category
)

select * from final
