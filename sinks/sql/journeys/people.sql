-- One row per identifier on a journey touch, with the person it belongs to. Identifiers that
-- appear together on one touch (an identify call joining a visitor to an e-mail, a CRM contact
-- with its e-mail) are one person, transitively: the identity graph's person level, so an
-- anonymous visitor later identified is one person, not two. person_id is the person's smallest
-- identifier; person_label the one to show (e-mail, else CRM contact, user id, anonymous id).
-- key: identifier
with recursive touch_identifiers as (
    select list_filter(['email:' || lower(trim(email)), 'contact:' || crm_contact_id, 'user:' || user_id,
                        'anon:' || anonymous_id], lambda x: x is not null) as identifiers
    from {{ ref('stg_journey_touches') }}
),

links as (
    select distinct identifiers[1] as node, unnest(identifiers) as linked
    from touch_identifiers where len(identifiers) > 0
),

edges as (
    select node, linked from links
    union
    select linked, node from links
),

reach(node, reached) as (
    select node, node from edges
    union
    select reach.node, edges.linked from reach inner join edges on edges.node = reach.reached
),

final as (
    select
        node as identifier,
        min(reached) as person_id,
        regexp_replace(arg_min(reached, {'rank': list_position(['email', 'contact', 'user', 'anon'],
                                                               split_part(reached, ':', 1)), 'id': reached}),
                       '^[a-z]+:', '') as person_label
    from reach
    group by node
)

select * from final
