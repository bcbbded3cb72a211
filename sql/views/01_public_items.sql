-- public_items: one row per item written by the public (not the council), current text.
-- Authors appear as author_ref, a keyed hash of their id (docs/data-protection.md).
with

source_items as (
    select * from items
),

accounts_named as (
    select
        platform,
        account_id,
        display_name
    from accounts
),

final as (
    select
        i.platform,
        i.item_id,
        i.kind,
        i.account_id,
        a.display_name as account_name,
        i.author_ref,
        i.parent_id,
        i.root_id,
        i.created_at,
        i.text,
        i.url,
        i.version,
        i.deleted_at,
        i.redacted_at,
        case when i.deleted_at is null then 0 else 1 end as is_deleted
    from source_items as i
    left join accounts_named as a
        on a.platform = i.platform and a.account_id = i.account_id
    where not i.is_own
)

select * from final
