"""The sandbox's mutable sample data: companies, posts, jobs and events.

Each provider has one :class:`Catalog` (``provider.catalog``), filled from
:mod:`~flask_rocketpunch.sandbox.data` and changed by the API's write
operations. Tests may edit its dictionaries directly (hold :attr:`lock`
when other threads serve requests); :meth:`reset` restores the samples.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone

from .data.companies import COMPANIES
from .data.events import EVENTS
from .data.jobs import JOBS
from .data.posts import POSTS
from .errors import APIError
from .users import SandboxUser

#: Where the provider's pages of posts, jobs and events live.
WEB_URL = "https://www.rocketpunch.com"


def utc_stamp(now: float) -> str:
    """``now`` as ISO-8601 UTC with a ``Z``, to the second.

    :param now: Seconds since the epoch.
    """
    return datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def paginate(items: Sequence[object], page: int, page_size: int) -> dict[str, object]:
    """The description's page shape for already-normalized ``page`` and
    ``page_size``; a page past the end has no items.

    :param items: Every matching item, in order.
    :param page: The page number, from 1.
    :param page_size: The page size, 1 to 50.
    """
    start = (page - 1) * page_size
    return {
        "totalItems": len(items),
        "totalPages": math.ceil(len(items) / page_size),
        "page": page,
        "pageSize": page_size,
        "items": list(items[start : start + page_size]),
    }


class Catalog:
    """Companies, posts, jobs and events, by id.

    :param users: The provider's users: seed posts are authored by them,
        the first one manages the first company and the second one holds
        resource-level roles at the second company.
    :param clock: Returns the current time in seconds since the epoch.
    """

    def __init__(
        self, users: Sequence[SandboxUser], clock: Callable[[], float]
    ) -> None:
        self.users = tuple(users)
        self.clock = clock
        #: Guards every dictionary below.
        self.lock = threading.RLock()
        self.companies: dict[str, dict[str, object]] = {}
        self.posts: dict[int, dict[str, object]] = {}
        self.jobs: dict[int, dict[str, object]] = {}
        self.events: dict[str, dict[str, object]] = {}
        #: ``permalink -> {user sub}`` with company-wide roles.
        self.managers: dict[str, set[str]] = {}
        #: ``(user sub, permalink) -> [(resource type, resource id)]``.
        self.resource_roles: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._ids = itertools.count(12345678)
        self.reset()

    def reset(self) -> None:
        """Forget every change: back to the sample data."""
        with self.lock:
            self.companies = {
                str(c["permalink"]): dict(c) for c in copy.deepcopy(COMPANIES)
            }
            self.posts = {}
            for post in copy.deepcopy(POSTS):
                author = post["author"]
                if isinstance(author, int):
                    if author >= len(self.users):
                        continue
                    post["author"] = self.users[author].sub
                post["updatedAt"] = post["postedAt"]
                self.posts[int(str(post["postId"]))] = post
            self.jobs = {int(str(j["jobId"])): j for j in copy.deepcopy(JOBS)}
            self.events = {str(e["eventId"]): e for e in copy.deepcopy(EVENTS)}
            first, second = [*self.companies, "", ""][:2]
            self.managers = {first: {self.users[0].sub}}
            self.resource_roles = {}
            if len(self.users) > 1:
                self.resource_roles[(self.users[1].sub, second)] = [
                    ("EVENT", "3M7ZP2WQ8D"),
                    ("JOB", "9001235"),
                ]
            self._ids = itertools.count(12345678)

    def next_id(self) -> int:
        """A new numeric id for a created resource."""
        return next(self._ids)

    def now(self) -> str:
        """The current time as ISO-8601 UTC."""
        return utc_stamp(self.clock())

    # -- lookups ----------------------------------------------------------

    def user(self, sub: str) -> SandboxUser | None:
        """The user with this ``sub``, if any.

        :param sub: The user's ``sub``.
        """
        return next((u for u in self.users if u.sub == sub), None)

    def company(self, permalink: str) -> dict[str, object]:
        """The company, or 404 ``C0008``.

        :param permalink: The company handle.
        """
        company = self.companies.get(permalink)
        if company is None:
            raise APIError(
                404, "C0008", f"No company {permalink!r}.", details="companyId"
            )
        return company

    def require_manager(self, sub: str, permalink: str) -> dict[str, object]:
        """The company, if the user holds company-wide roles there.

        :param sub: The user's ``sub``.
        :param permalink: The company handle.
        :raise APIError: 404 ``C0008`` (no such company) or 403 ``C0012``.
        """
        company = self.company(permalink)
        if sub not in self.managers.get(permalink, set()):
            raise APIError(
                403,
                "C0012",
                f"You do not manage the company {permalink!r}.",
                details="companyId",
            )
        return company

    def managed_by(self, sub: str) -> Iterable[str]:
        """The permalinks of the companies the user manages.

        :param sub: The user's ``sub``.
        """
        return [p for p, subs in self.managers.items() if sub in subs]
