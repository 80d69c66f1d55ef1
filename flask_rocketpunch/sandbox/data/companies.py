"""Sample companies, and the capabilities their managers hold.

The provider's first user manages the first company (company-wide roles);
its second user holds resource-level roles on the second company's first
event and job only.
"""

from __future__ import annotations

#: Capabilities a company-wide manager holds (``GET /me/company-permissions``).
MANAGER_CAPABILITIES: tuple[str, ...] = (
    "event:create",
    "event:update",
    "event:delete",
    "job:create",
    "job:update",
    "job:delete",
    "job:publish",
    "job:list",
)
#: Capabilities of a resource-level role (``.../resource-roles``).
RESOURCE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "EVENT": ("event:update",),
    "JOB": ("job:view", "job:update"),
}

COMPANIES: tuple[dict[str, object], ...] = (
    {
        "permalink": "rocketpunch-sandbox",
        "name": "Rocketpunch Sandbox Inc.",
        "logoUrl": None,
        "industry": "IT / 웹 / 통신",
        "size": "SMALL",
    },
    {
        "permalink": "hanbit-robotics",
        "name": "한빛로보틱스",
        "logoUrl": "https://static.example.com/logos/hanbit-robotics.png",
        "industry": "제조 / 로봇",
        "size": "MEDIUM",
    },
    {
        "permalink": "seoul-coffee-lab",
        "name": "Seoul Coffee Lab",
        "logoUrl": None,
        "industry": "식음료",
        "size": "TINY",
    },
)
