"""The sample user API: posts and company permissions, enough to exercise a
client's ``GET`` and ``POST`` calls against ``/api/v1``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from .errors import APIError, require_scope
from .models import AccessToken
from .users import SandboxUser, display_name

#: The largest page ``GET /api/v1/posts`` returns.
MAX_PAGE_SIZE = 50
#: The longest post text, in characters.
MAX_POST_LENGTH = 5000


class SampleAPI:
    """Posts created through the API, on top of one seed post per user.

    :param users: The provider's users; they author the seed posts, and the
        first one manages a company.
    :param clock: Returns the current time in seconds since the epoch.
    """

    def __init__(
        self, users: Sequence[SandboxUser], clock: Callable[[], float]
    ) -> None:
        self._users = tuple(users)
        self._clock = clock
        self._lock = threading.Lock()
        self._posts: list[dict[str, object]] = []

    def list_posts(self, page: int, page_size: int) -> dict[str, object]:
        """A page of posts, newest first (``GET /api/v1/posts``).

        :param page: The page number, from 1 (normalized).
        :param page_size: The page size, 1 to 50 (normalized).
        """
        page = max(page, 1)
        page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
        with self._lock:
            posts = list(reversed(self._posts))
        posts.extend(self.seed_posts())
        start = (page - 1) * page_size
        return {
            "totalItems": len(posts),
            "totalPages": -(-len(posts) // page_size),
            "page": page,
            "pageSize": page_size,
            "items": posts[start : start + page_size],
        }

    def seed_posts(self) -> list[dict[str, object]]:
        """One post by each user, always there."""
        return [
            {
                "postId": 9876540 + index,
                "author": {
                    "type": "MEMBER",
                    "id": user.preferred_username,
                    "name": user.name,
                    "imageUrl": user.picture,
                    "certificated": False,
                },
                "content": (
                    f"Hello from {display_name(user)} in the Rocketpunch sandbox."
                ),
                "images": [],
                "og": None,
                "stats": {"likeCount": index, "commentCount": 0},
                "owned": False,
                "webUrl": f"https://www.rocketpunch.com/post/{9876540 + index}",
                "postedAt": "2026-05-20T09:00:00",
            }
            for index, user in enumerate(self._users)
        ]

    def create_post(self, token: AccessToken, text: str) -> dict[str, object]:
        """Create a post as the token's user (``POST /api/v1/posts``).

        :param token: The authenticated access token (needs ``post:write``).
        :param text: The post body, up to 5,000 characters.
        :raise APIError: Missing scope or text too long.
        """
        require_scope(token, "post:write")
        if len(text) > MAX_POST_LENGTH:
            raise APIError(
                400, "C0005", "text must be 5000 characters or less.", details="text"
            )
        stamp = datetime.fromtimestamp(self._clock(), tz=timezone.utc)
        posted = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            post_id = 12345678 + len(self._posts)
            post: dict[str, object] = {
                "postId": post_id,
                "content": text,
                "og": None,
                "images": [],
                "webUrl": f"https://www.rocketpunch.com/post/{post_id}",
                "postedAt": posted,
                "updatedAt": posted,
            }
            self._posts.append(post)
        return dict(post)

    def company_permissions(self, token: AccessToken) -> dict[str, object]:
        """The companies the token's user manages: the first user manages one.

        :param token: The authenticated access token (needs
            ``company:manage:read``).
        :raise APIError: Missing scope.
        """
        require_scope(token, "company:manage:read")
        companies: list[dict[str, object]] = []
        if self._users and token.user_sub == self._users[0].sub:
            companies.append(
                {
                    "company": {
                        "permalink": "rocketpunch-sandbox",
                        "name": "Rocketpunch Sandbox Inc.",
                        "logoUrl": None,
                    },
                    "capabilities": ["event:create", "job:create"],
                }
            )
        return {"companies": companies}

    def clear(self) -> None:
        """Forget the posts created through the API."""
        with self._lock:
            self._posts.clear()
