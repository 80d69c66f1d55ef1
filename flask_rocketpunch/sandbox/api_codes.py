"""``/api/v1/codes/*`` (localized catalogs) and ``/api/v1/me/*`` (the
caller's company permissions and resource roles)."""

from __future__ import annotations

from collections.abc import Callable

from .api_call import Call, Reply
from .api_request import invalid
from .catalog import paginate
from .data import codes
from .data.companies import MANAGER_CAPABILITIES, RESOURCE_CAPABILITIES


def _catalog(entries: tuple[codes.Code, ...]) -> Callable[[Call], Reply]:
    def view(call: Call) -> Reply:
        english = call.language == "en"
        return 200, [
            {
                "code": code,
                "displayName": en if english else ko,
                "description": en_desc if english else ko_desc,
            }
            for code, ko, en, ko_desc, en_desc in entries
        ]

    return view


def _industry(entry: tuple[object, ...], english: bool) -> dict[str, object]:
    code, ko, en, children = entry
    return {
        "code": code,
        "displayName": en if english else ko,
        "children": [_industry(c, english) for c in children] or None,  # type: ignore[attr-defined]
    }


def job_industries(call: Call) -> Reply:
    """``GET /codes/job-industries``: a three-level hierarchy."""
    return 200, [_industry(e, call.language == "en") for e in codes.JOB_INDUSTRIES]


def company_permissions(call: Call) -> Reply:
    """``GET /me/company-permissions``: companies with company-wide roles."""
    with call.catalog.lock:
        companies = [
            {
                "company": {
                    key: call.catalog.companies[p][key]
                    for key in ("permalink", "name", "logoUrl")
                },
                "capabilities": list(MANAGER_CAPABILITIES),
            }
            for p in call.catalog.managed_by(call.sub)
        ]
    return 200, {"companies": companies}


def resource_roles(call: Call) -> Reply:
    """``GET /me/company-permissions/{permalink}/resource-roles``: a precise
    check with ``resourceId``, else a page of the resources with roles."""
    kind = call.param("resourceType")
    if kind not in RESOURCE_CAPABILITIES:
        raise invalid("resourceType", "must be EVENT or JOB.")
    permalink = call.param("companyPermalink")
    with call.catalog.lock:
        call.catalog.company(permalink)
        roles = call.catalog.resource_roles.get((call.sub, permalink), [])
    items = [
        {
            "resourceType": k,
            "resourceId": rid,
            "capabilities": list(RESOURCE_CAPABILITIES[k]),
        }
        for k, rid in roles
        if k == kind and call.param("resourceId") in (None, rid)
    ]
    if call.param("resourceId") is None:
        items = paginate(items, call.param("page", 1), call.param("pageSize", 20))[
            "items"
        ]  # type: ignore[assignment]
    return 200, {"items": items}


HANDLERS = {
    "getSeniorities": _catalog(codes.SENIORITIES),
    "getEmploymentTypes": _catalog(codes.EMPLOYMENT_TYPES),
    "getJobCategories": _catalog(codes.JOB_CATEGORIES),
    "getEventCategories": _catalog(codes.EVENT_CATEGORIES),
    "getEventSubjects": _catalog(codes.EVENT_SUBJECTS),
    "getJobIndustries": job_industries,
    "getMyCompanyPermissions": company_permissions,
    "getMyResourceRoles": resource_roles,
}
