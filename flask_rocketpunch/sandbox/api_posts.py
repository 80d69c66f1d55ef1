"""``/api/v1/posts``: search, read, create, update and delete posts."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

from .api_call import Call, Reply
from .api_request import invalid
from .catalog import WEB_URL, Catalog, paginate
from .errors import APIError
from .schema_check import parse_datetime

Post = dict[str, object]


def _author(catalog: Catalog, post: Post) -> dict[str, object]:
    key = str(post["author"])
    company = catalog.companies.get(key)
    if company is not None:
        return {
            "type": "COMPANY",
            "id": key,
            "name": company["name"],
            "imageUrl": company["logoUrl"],
            "certificated": True,
        }
    user = catalog.user(key)
    return {
        "type": "MEMBER",
        "id": user.preferred_username if user else None,
        "name": user.name if user else "(withdrawn)",
        "imageUrl": user.picture if user else None,
        "certificated": False,
    }


def summary(catalog: Catalog, post: Post, viewer: str | None) -> dict[str, object]:
    """A post as ``PostSummaryResponse``; ``owned`` is true for its author.

    :param catalog: The sample data.
    :param post: The stored post.
    :param viewer: The calling user's ``sub``, if any.
    """
    return {
        "postId": post["postId"],
        "author": _author(catalog, post),
        "content": post["content"],
        "images": post["images"],
        "og": post["og"],
        "stats": {"likeCount": post["likeCount"], "commentCount": post["commentCount"]},
        "owned": viewer is not None and post["author"] == viewer,
        "webUrl": f"{WEB_URL}/post/{post['postId']}",
        "postedAt": post["postedAt"],
    }


def _detail(catalog: Catalog, post: Post, viewer: str | None) -> dict[str, object]:
    body = summary(catalog, post, viewer)
    mentioned = [
        {"name": str(catalog.companies[p]["name"]), "id": p}
        for p in catalog.companies
        if p in str(post["content"]) or p == post["author"]
    ]
    body.update(
        language=post.get("language"),
        mentions={"companies": mentioned, "users": []},
        repostedPost=None,
        repostedPostDeleted=False,
        updatedAt=post["updatedAt"],
    )
    return body


def _written(post: Post) -> dict[str, object]:
    return {
        "postId": post["postId"],
        "content": post["content"],
        "og": post["og"],
        "images": post["images"],
        "webUrl": f"{WEB_URL}/post/{post['postId']}",
        "postedAt": post["postedAt"],
        "updatedAt": post["updatedAt"],
    }


def _when(call: Call, name: str) -> datetime | None:
    text = call.param(name)
    if text is None:
        return None
    try:
        when = parse_datetime(text) if "T" in text else datetime.fromisoformat(text)
    except ValueError:
        raise invalid(
            name, f"must be an ISO-8601 date and time. Input: {text}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _posted(post: Post) -> datetime:
    return parse_datetime(str(post["postedAt"]))


def search_posts(call: Call) -> Reply:
    """``GET /posts``: filter by ``keyword``, ``companyId``, ``hasImages``,
    ``hasOg``, ``postedAfter``/``postedBefore``; ``RELEVANCE`` sorts by
    keyword hits then recency, ``RECENT`` by recency."""
    after, before = _when(call, "postedAfter"), _when(call, "postedBefore")
    keyword = str(call.param("keyword", "")).casefold()
    company = call.param("companyId")
    has_images, has_og = call.param("hasImages"), call.param("hasOg")
    with call.catalog.lock:
        posts = list(call.catalog.posts.values())
    found = [
        p
        for p in posts
        if keyword in str(p["content"]).casefold()
        and (company is None or p["author"] == company or company in str(p["content"]))
        and (has_images is None or bool(p["images"]) == has_images)
        and (has_og is None or (p["og"] is not None) == has_og)
        and (after is None or _posted(p) >= after)
        and (before is None or _posted(p) <= before)
    ]
    found.sort(key=_posted, reverse=True)
    if keyword and call.param("sort", "RELEVANCE") == "RELEVANCE":
        found.sort(
            key=lambda p: str(p["content"]).casefold().count(keyword), reverse=True
        )
    items = [summary(call.catalog, p, call.user_sub) for p in found]
    return 200, paginate(items, call.param("page", 1), call.param("pageSize", 20))


def _stored(call: Call) -> Post:
    post = call.catalog.posts.get(call.param("postId"))
    if post is None:
        raise APIError(404, "P0002", "The post does not exist.", details="postId")
    return post


def get_post(call: Call) -> Reply:
    """``GET /posts/{postId}``."""
    with call.catalog.lock:
        return 200, _detail(call.catalog, _stored(call), call.user_sub)


def _og(call: Call) -> dict[str, object] | None:
    og = t.cast("dict[str, str] | None", call.field("og"))
    if og is None:
        return None
    link = og["link"]
    return {
        "link": link,
        "title": None,
        "source": None,
        "image": None,
        "description": None,
    }


def _images(call: Call) -> list[dict[str, object]]:
    return [
        {
            "id": call.catalog.next_id() % 2**31,
            "url": f"https://cdn.example.com/images/sandbox/{image.filename}",
            "width": None,
            "height": None,
        }
        for image in call.files.get("images", [])
    ]


def create_post(call: Call) -> Reply:
    """``POST /posts``: a post by the calling user."""
    now = call.catalog.now()
    with call.catalog.lock:
        post_id = call.catalog.next_id()
        post: Post = {
            "postId": post_id,
            "author": call.sub,
            "content": call.field("text"),
            "language": None,
            "images": _images(call),
            "og": _og(call),
            "likeCount": 0,
            "commentCount": 0,
            "postedAt": now,
            "updatedAt": now,
        }
        call.catalog.posts[post_id] = post
    return 201, _written(post)


def _own(call: Call) -> Post:
    post = _stored(call)
    if post["author"] != call.sub:
        raise APIError(403, "P0003", "Only the author may change this post.")
    return post


def update_post(call: Call) -> Reply:
    """``PUT /posts/{postId}``: the author replaces text, og and images."""
    with call.catalog.lock:
        post = _own(call)
        post.update(
            content=call.field("text"),
            og=_og(call),
            images=_images(call),
            updatedAt=call.catalog.now(),
        )
        return 200, _written(post)


def delete_post(call: Call) -> Reply:
    """``DELETE /posts/{postId}``: the author deletes it."""
    with call.catalog.lock:
        _own(call)
        del call.catalog.posts[call.param("postId")]
    return 204, None


HANDLERS = {
    "searchPosts": search_posts,
    "getPost": get_post,
    "createPost": create_post,
    "updatePost": update_post,
    "deletePost": delete_post,
}
