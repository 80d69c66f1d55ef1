"""Sample posts: one by each sample user (``author`` is the user's index)
and a few by companies (``author`` is a company permalink)."""

from __future__ import annotations

POSTS: tuple[dict[str, object], ...] = (
    {
        "postId": 9876540,
        "author": 0,
        "content": "Hello from the Rocketpunch sandbox! 샌드박스에서 첫 글을 올립니다.",
        "language": "en",
        "images": [],
        "og": None,
        "likeCount": 12,
        "commentCount": 3,
        "postedAt": "2026-05-20T09:00:00Z",
    },
    {
        "postId": 9876541,
        "author": 1,
        "content": "오늘 판교 밋업에서 발표했습니다. 자료는 링크를 참고해 주세요.",
        "language": "ko",
        "images": [
            {
                "id": 12345,
                "url": "https://cdn.example.com/images/2026/5/21/meetup.jpg",
                "width": 1920,
                "height": 1080,
            }
        ],
        "og": {
            "link": "https://example.com/slides/pangyo-meetup",
            "title": "판교 밋업 발표 자료",
            "source": "example.com",
            "image": None,
            "description": None,
        },
        "likeCount": 41,
        "commentCount": 7,
        "postedAt": "2026-05-21T11:30:00Z",
    },
    {
        "postId": 9876542,
        "author": 2,
        "content": "Looking for a Flask developer to pair on an OAuth integration.",
        "language": "en",
        "images": [],
        "og": None,
        "likeCount": 2,
        "commentCount": 0,
        "postedAt": "2026-05-22T08:15:00Z",
    },
    {
        "postId": 9876543,
        "author": "hanbit-robotics",
        "content": "한빛로보틱스가 시리즈 B 투자를 유치했습니다. We are hiring!",
        "language": "ko",
        "images": [
            {
                "id": 12346,
                "url": "https://cdn.example.com/images/2026/5/23/series-b.png",
                "width": None,
                "height": None,
            }
        ],
        "og": {
            "link": "https://news.example.com/hanbit-series-b",
            "title": "Hanbit Robotics raises Series B",
            "source": "news.example.com",
            "image": "https://news.example.com/og/hanbit.png",
            "description": "The Seoul robotics startup raised a Series B round.",
        },
        "likeCount": 128,
        "commentCount": 15,
        "postedAt": "2026-05-23T02:00:00Z",
    },
    {
        "postId": 9876544,
        "author": "seoul-coffee-lab",
        "content": "새 원두 입고! New single-origin beans from Ethiopia this week.",
        "language": "ko",
        "images": [],
        "og": None,
        "likeCount": None,
        "commentCount": None,
        "postedAt": "2026-05-24T06:45:00Z",
    },
)
