"""Identity resolution: anonymous visitor → person → account, as a union-find over identifiers.

Every identifier a touch carries (anonymous id, user id, e-mail, CRM contact, account,
company domain) is a node; a touch links all of its nodes. A component that contains an
account node resolves to that account; when two accounts meet, the oldest survives and the
merge is reported. Free-mail domains never link anyone to an account.

The graph keeps ``node -> root`` and ``root -> Component`` in two mappings, so a streaming
runner can back them with its state tables; merges relabel the smaller component.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import NamedTuple

from schemas.vocabulary import IDENTITY_EVENTS
from transforms.settings import DEFAULT_JOURNEY, JourneySettings
from transforms.types import Touch, iso

#: Consumer mailbox providers: an address there says nothing about the employer.
FREE_MAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com outlook.com hotmail.com hotmail.co.uk hotmail.fr live.com msn.com
    yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.co.jp ymail.com rocketmail.com aol.com
    icloud.com me.com mac.com protonmail.com proton.me pm.me gmx.com gmx.de gmx.net web.de
    mail.com mail.ru yandex.ru yandex.com qq.com 163.com 126.com sina.com naver.com
    zoho.com tutanota.com fastmail.com hey.com comcast.net verizon.net att.net orange.fr
    free.fr laposte.net t-online.de libero.it virgilio.it btinternet.com sky.com
    """.split()  # noqa: SIM905 - a word list reads better as a block
)


def identity_nodes(touch: Touch) -> list[str]:
    """The graph nodes a touch names; all of them belong to one component."""
    nodes = []
    if touch.account_id:
        nodes.append("account:" + touch.account_id)
    if touch.anonymous_id:
        nodes.append("anon:" + touch.anonymous_id)
    if touch.user_id:
        nodes.append("user:" + touch.user_id)
    email = touch.email
    if email:
        email = email.lower()
        nodes.append("email:" + email)
        domain = email.rpartition("@")[2]
        if domain not in FREE_MAIL_DOMAINS:
            nodes.append("domain:" + domain)
    if touch.crm_contact_id:
        nodes.append("contact:" + touch.crm_contact_id)
    account_domain = touch.account_domain
    if account_domain:
        account_domain = account_domain.lower()
        if account_domain not in FREE_MAIL_DOMAINS:
            nodes.append("domain:" + account_domain)
    return nodes


class Component(NamedTuple):
    """A set of identifiers known to be one person, or one account and its people."""

    members: tuple[str, ...]
    account_id: str | None  # the surviving (oldest) account, if any
    account_seen_at: datetime | None  # when that account was first seen


class Merge(NamedTuple):
    """Two components became one; with two accounts, ``merged_account_id`` lives on as ``account_id``."""

    account_id: str | None
    merged_account_id: str | None
    kept_root: str
    merged_root: str
    at: datetime
    event_id: str
    reported: bool = True  # False when a touch's new identifiers simply joined a component

    def to_row(self) -> dict[str, object]:
        """An ``identity-merges-v1`` record."""
        return {
            "event_id": self.event_id,
            "account_id": self.account_id,
            "merged_account_id": self.merged_account_id,
            "kept_identity": self.kept_root,
            "merged_identity": self.merged_root,
            "merged_at": iso(self.at),
        }


def _older(a: tuple[datetime | None, str | None], b: tuple[datetime | None, str | None]) -> bool:
    """Whether account ``a`` (seen_at, id) is older than ``b``; an absent account never wins."""
    if b[1] is None:
        return a[1] is not None
    if a[1] is None:
        return False
    return (a[0], a[1]) < (b[0], b[1])


class IdentityGraph:
    """Union-find over identifiers, stored as ``node -> root`` and ``root -> Component``."""

    def __init__(self, roots: MutableMapping[str, str] | None = None,
                 components: MutableMapping[str, Component] | None = None) -> None:
        self.roots: MutableMapping[str, str] = {} if roots is None else roots
        self.components: MutableMapping[str, Component] = {} if components is None else components

    def root(self, node: str) -> str | None:
        """The component root of a node, or None if the node was never seen."""
        return self.roots.get(node)

    def link(self, touch: Touch, nodes: list[str] | None = None) -> tuple[str | None, list[Merge]]:
        """Add the touch's identifiers and link them; return its component root and every union.

        A union is ``reported`` when two components that existed before this touch become
        one, or when a component with an account meets a new account.
        """
        if nodes is None:
            nodes = identity_nodes(touch)
        if not nodes:
            return None, []
        roots = self.roots
        existing: list[str] = []
        new_nodes: list[str] = []
        for node in nodes:
            node_root = roots.get(node)
            if node_root is None:
                if node not in new_nodes:
                    new_nodes.append(node)
            elif node_root not in existing:
                existing.append(node_root)
        if len(existing) == 1 and not any(n.startswith("account:") for n in new_nodes):
            # The common case: a known person or account, perhaps showing new identifiers.
            root = existing[0]
            if new_nodes:
                for node in new_nodes:
                    roots[node] = root
                members, account, seen_at = self.components[root]
                self.components[root] = Component(members + tuple(new_nodes), account, seen_at)
            return root, []
        fresh = self._create(new_nodes, touch) if new_nodes else None
        if fresh is not None:
            existing.append(fresh)
        merges: list[Merge] = []
        root = existing[0]
        for other in existing[1:]:
            root, merge = self._union(root, other, touch)
            reported = other != fresh or merge.merged_account_id is not None
            merges.append(merge if reported else merge._replace(reported=False))
        return root, merges

    def _create(self, nodes: list[str], touch: Touch) -> str:
        accounts = [n.removeprefix("account:") for n in nodes if n.startswith("account:")]
        account = accounts[0] if accounts else None
        root = nodes[0]
        for node in nodes:
            self.roots[node] = root
        self.components[root] = Component(tuple(nodes), account, touch.occurred_at if account else None)
        return root

    def _union(self, a: str, b: str, touch: Touch) -> tuple[str, Merge]:
        a, b = self.roots[a], self.roots[b]  # roots may have moved in this link
        big, small = self.components[a], self.components[b]
        if len(big.members) < len(small.members):
            a, b, big, small = b, a, small, big
        # The oldest account survives, whichever component is bigger.
        keep_small_account = _older((small.account_seen_at, small.account_id),
                                    (big.account_seen_at, big.account_id))
        account = small if keep_small_account else big
        other = big if keep_small_account else small
        for member in small.members:
            self.roots[member] = a
        self.components[a] = Component(big.members + small.members, account.account_id,
                                       account.account_seen_at)
        del self.components[b]
        return a, Merge(account.account_id, other.account_id, a, b, touch.occurred_at, touch.event_id)


class Resolution(NamedTuple):
    """What one touch's arrival settles."""

    resolved: list[tuple[str, Touch]]  # (account_id, touch), released buffers included
    merges: list[Merge]
    unresolved: list[Touch]  # given up: no identifier to wait on, or the visitor's buffer overflowed


class Resolver:
    """Streaming identity resolution with retroactive stitching.

    A touch whose identifiers are not yet tied to an account waits in its component's
    buffer (bounded by ``pending_per_visitor``); when the component gains an account, the
    buffer is released to that account. Identity calls link identifiers and are never
    journey touches.
    """

    def __init__(self, settings: JourneySettings = DEFAULT_JOURNEY, graph: IdentityGraph | None = None,
                 pending: MutableMapping[str, tuple[Touch, ...]] | None = None) -> None:
        self.settings = settings
        self.graph = graph or IdentityGraph()
        self.pending: MutableMapping[str, tuple[Touch, ...]] = {} if pending is None else pending

    def add(self, touch: Touch) -> Resolution:
        """Link the touch's identifiers and settle whatever that resolves."""
        root, merges = self.graph.link(touch)
        is_identity = touch.event_type in IDENTITY_EVENTS
        if root is None:
            return Resolution([], [], [] if is_identity else [touch])
        for merge in merges:  # buffers follow their identifiers into the surviving component
            moved = self.pending.pop(merge.merged_root, ())
            if moved:
                self.pending[merge.kept_root] = self.pending.get(merge.kept_root, ()) + moved
        reported = [merge for merge in merges if merge.reported]
        account = self.graph.components[root].account_id
        if account is None:
            if is_identity:
                return Resolution([], reported, [])
            # a better copy of a waiting touch takes its place (transforms.admission)
            waiting = tuple(t for t in self.pending.get(root, ()) if t.key != touch.key) + (touch,)
            limit = self.settings.pending_per_visitor
            self.pending[root] = waiting[-limit:]
            return Resolution([], reported, list(waiting[:-limit]))
        released = self.pending.pop(root, ())
        resolved = [(account, t) for t in released]
        if not is_identity:
            resolved.append((account, touch))
        return Resolution(resolved, reported, [])

    def waiting(self) -> list[Touch]:
        """Touches still waiting for an account."""
        return [touch for buffer in self.pending.values() for touch in buffer]


#: The identifiers a touch can carry, in the order :func:`identity_of` gives them.
IDENTITY_FIELDS = ("account_id", "anonymous_id", "user_id", "email", "crm_contact_id", "account_domain")


def identity_of(touch: Touch) -> tuple[str | None, ...]:
    """Every identifier a touch carries (:data:`IDENTITY_FIELDS`): touches with the same ones link nothing new."""
    return (touch.account_id, touch.anonymous_id, touch.user_id, touch.email, touch.crm_contact_id,
            touch.account_domain)


class Components(NamedTuple):
    """Batch identity: each touch's head node (or -1), the component of each node, each component's survivor."""

    ordered: list[Touch]  # event-time order
    touch_nodes: list[int]
    heads: dict[tuple[str | None, ...], int]  # each distinct identifier set -> its head node (or -1)
    labels: list[int]
    oldest: dict[int, tuple[datetime, str]]  # component -> (first seen, surviving account)
    accounts: dict[int, tuple[datetime, str]]  # account node -> (first seen, account id)

    def account(self, node_id: int) -> str | None:
        """The surviving account of a touch's head node."""
        survivor = self.oldest.get(self.labels[node_id]) if node_id >= 0 else None
        return survivor[1] if survivor else None


def components(touches: Iterable[Touch]) -> Components:
    """The graph of every touch's identifiers as connected components (scipy, in C).

    The same rules as :class:`IdentityGraph` (a touch links all of its identifiers; the oldest
    account of a component survives), computed at once over integer-encoded identifiers, since
    history is all there. Each distinct set of identifiers is encoded once, so the earliest
    touch of each set gives the same components as all of them.
    """
    ordered = sorted(touches, key=lambda t: t.order)
    node_ids: dict[str, int] = {}
    accounts: dict[int, tuple[datetime, str]] = {}  # node id -> (first seen, account id)
    sources: list[int] = []
    targets: list[int] = []
    first_node: dict[tuple[str | None, ...], int] = {}
    touch_nodes = []
    for touch in ordered:
        identity = identity_of(touch)
        head = first_node.get(identity)
        if head is None:
            ids = []
            for node in identity_nodes(touch):
                node_id = node_ids.get(node)
                if node_id is None:
                    node_id = node_ids[node] = len(node_ids)
                    if node.startswith("account:"):
                        accounts[node_id] = (touch.occurred_at, node.removeprefix("account:"))
                ids.append(node_id)
            head = first_node[identity] = ids[0] if ids else -1
            sources += [head] * (len(ids) - 1)
            targets += ids[1:]
        touch_nodes.append(head)
    import numpy as np  # here, not at the top: the stream's stages never run this batch path (~50 MB each)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    size = len(node_ids)
    edges = csr_matrix((np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(size, size))
    labels = connected_components(edges, directed=False)[1].tolist() if size else []
    oldest: dict[int, tuple[datetime, str]] = {}
    for node_id, seen in accounts.items():
        label = labels[node_id]
        if label not in oldest or seen < oldest[label]:
            oldest[label] = seen
    return Components(ordered, touch_nodes, first_node, labels, oldest, accounts)


def accounts_by_identity(touches: Iterable[Touch]) -> dict[tuple[str | None, ...], str]:
    """The surviving account of each distinct identifier set (for runners that assign accounts apart)."""
    found = components(touches)
    labels, oldest = found.labels, found.oldest
    return {identity: survivor[1] for identity, head in found.heads.items()
            if head >= 0 and (survivor := oldest.get(labels[head])) is not None}


def resolve_all(touches: Iterable[Touch]) -> tuple[list[tuple[str, Touch]], list[Touch], list[Merge]]:
    """Batch resolution: each touch's account (identity calls drop out), in event-time order, and the merges.

    The merges are the final ones: every account that lives on as an older one.
    """
    found = components(touches)
    oldest, labels, accounts = found.oldest, found.labels, found.accounts
    merges = [Merge(oldest[labels[node_id]][1], account, f"account:{oldest[labels[node_id]][1]}",
                    f"account:{account}", seen_at, "")
              for node_id, (seen_at, account) in sorted(accounts.items(), key=lambda item: item[1])
              if oldest[labels[node_id]][1] != account]
    resolved, unresolved = [], []
    for touch, node_id in zip(found.ordered, found.touch_nodes, strict=True):
        if touch.event_type in IDENTITY_EVENTS:
            continue
        account = found.account(node_id)
        if account is None:
            unresolved.append(touch)
        else:
            resolved.append((account, touch))
    return resolved, unresolved, merges
