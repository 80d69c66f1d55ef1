"""``/api/v1/jobs`` and ``/companies/{companyId}/jobs/accessible``."""

from __future__ import annotations

from .api_call import Call, Reply
from .catalog import WEB_URL, Catalog, paginate
from .errors import APIError

Job = dict[str, object]

_SORTS = ("RELEVANCE_DESC", "DATE_DESC", "POPULARITY_DESC")
_LIST_FILTERS = {
    "jobCategories": "jobCategory",
    "seniorities": "seniorities",
    "employmentTypes": "employmentTypes",
    "workTypes": "workType",
}
_UPDATABLE = {
    "jobTitle": "title",
    "jobSubtitle": "subtitle",
    "jobCategory": "jobCategory",
    "seniorities": "seniorities",
    "employmentTypes": "employmentTypes",
    "workType": "workType",
    "jobBio": "description",
    "jobResponse": "duty",
    "jobMinimumQual": "minimumQualification",
    "jobPreferQual": "preferredQualification",
    "jobBenefit": "benefit",
    "jobHireProcess": "hireProcess",
    "jobHireNotes": "hireNotes",
}


def _company(catalog: Catalog, job: Job) -> dict[str, object]:
    permalink = str(job["company"])
    company = catalog.companies.get(permalink, {"name": permalink})
    return {
        "id": permalink,
        "name": company["name"],
        "logoUrl": company.get("logoUrl"),
        "industry": company.get("industry"),
        "size": company.get("size"),
    }


def _summary(catalog: Catalog, job: Job) -> dict[str, object]:
    keys = ("jobId", "title", "subtitle", "jobCategory", "seniorities")
    body = {key: job[key] for key in keys}
    body.update(
        employmentTypes=job["employmentTypes"],
        workType=job["workType"],
        company=_company(catalog, job),
        endAt=job["endAt"],
        webUrl=f"{WEB_URL}/jobs/{job['jobId']}",
    )
    return body


def _detail(catalog: Catalog, job: Job) -> dict[str, object]:
    body = {k: v for k, v in job.items() if k != "company"}
    body.update(
        company=_company(catalog, job),
        allowRemote=job["workType"] == "REMOTE",
        webUrl=f"{WEB_URL}/jobs/{job['jobId']}",
    )
    return body


def written(job: Job) -> dict[str, object]:
    """A job as ``JobWriteResponse``.

    :param job: The stored job.
    """
    keys = ("jobId", "status", "hiring", "title", "subtitle", "jobCategory")
    body = {key: job[key] for key in keys}
    body.update(
        seniorities=job["seniorities"],
        employmentTypes=job["employmentTypes"],
        workType=job["workType"],
        startAt=job["startAt"],
        endAt=job["endAt"],
        webUrl=f"{WEB_URL}/jobs/{job['jobId']}",
    )
    return body


def _matches(call: Call, job: Job) -> bool:
    if job["status"] != "published" or not job["hiring"]:
        return False
    keyword = str(call.param("keyword", "")).casefold()
    text = f"{job['title']} {job['subtitle'] or ''} {job['description'] or ''}"
    if keyword not in text.casefold():
        return False
    if call.param("companyId") not in (None, job["company"]):
        return False
    company = call.catalog.companies.get(str(job["company"]), {})
    if call.param("companySizes") and company.get("size") not in call.param(
        "companySizes"
    ):
        return False
    for param, key in _LIST_FILTERS.items():
        wanted = call.param(param)
        value = job[key]
        values = value if isinstance(value, list) else [value]
        if wanted and not set(wanted) & set(values):
            return False
    return True


def search_jobs(call: Call) -> Reply:
    """``GET /jobs``: hiring, published jobs; filters of one kind are ORed,
    of different kinds ANDed. Sort by relevance, date or popularity."""
    sort = call.param("sort", "RELEVANCE_DESC")
    if sort not in _SORTS:
        raise APIError(
            400, "C0005", f"sort must be one of {', '.join(_SORTS)}.", details="sort"
        )
    with call.catalog.lock:
        found = [j for j in call.catalog.jobs.values() if _matches(call, j)]
        found.sort(key=lambda j: str(j["createdAt"]), reverse=True)
        items = [_summary(call.catalog, j) for j in found]
    return 200, paginate(items, call.param("page", 1), call.param("pageSize", 20))


def _stored(call: Call, *, drafts: bool = False) -> Job:
    job = call.catalog.jobs.get(call.param("jobId"))
    if job is None or (job["status"] == "draft" and not drafts):
        raise APIError(404, "R0001", "The job does not exist.", details="jobId")
    return job


def get_job(call: Call) -> Reply:
    """``GET /jobs/{jobId}``: any job but drafts."""
    with call.catalog.lock:
        return 200, _detail(call.catalog, _stored(call))


def _managed(call: Call) -> Job:
    call.catalog.require_manager(call.sub, call.param("companyId"))
    job = _stored(call, drafts=True)
    if job["company"] != call.param("companyId"):
        raise APIError(404, "R0001", "The company has no such job.", details="jobId")
    return job


def create_job(call: Call) -> Reply:
    """``POST /jobs/platform``: a published job of a company the user manages."""
    permalink = call.param("companyId")
    with call.catalog.lock:
        call.catalog.require_manager(call.sub, permalink)
        job_id = call.catalog.next_id()
        job: Job = {key: None for key in _UPDATABLE.values()}
        job.update(
            {target: call.field(source) for source, target in _UPDATABLE.items()}
        )
        job.update(
            jobId=job_id,
            company=permalink,
            status="published",
            hiring=True,
            language=None,
            jobImages=[
                f"https://cdn.example.com/jobs/{f.filename}"
                for f in call.files.get("images", [])
            ],
            applyMethod={"type": "PLATFORM", "url": None},
            startAt=f"{call.field('startDate')}T00:00:00Z",
            endAt=(
                f"{call.field('endDate')}T23:59:59Z" if call.field("endDate") else None
            ),
            createdAt=call.catalog.now(),
        )
        call.catalog.jobs[job_id] = job
    return 201, written(job)


def update_job(call: Call) -> Reply:
    """``PATCH /jobs/{jobId}?type=PLATFORM``: only the fields sent change."""
    with call.catalog.lock:
        job = _managed(call)
        for source, target in _UPDATABLE.items():
            if call.body and source in call.body:
                job[target] = call.body[source]
        return 200, written(job)


def delete_job(call: Call) -> Reply:
    """``DELETE /jobs/{jobId}``: soft delete."""
    with call.catalog.lock:
        _managed(call)
        del call.catalog.jobs[call.param("jobId")]
    return 204, None


def publish_job(call: Call) -> Reply:
    """``PUT /jobs/{jobId}/active``: published and hiring, with new dates."""
    with call.catalog.lock:
        job = _managed(call)
        start, end = call.field("startDate"), call.field("endDate")
        job.update(status="published", hiring=True)
        if start:
            job["startAt"] = f"{start}T00:00:00Z"
        if end:
            job["endAt"] = f"{end}T23:59:59Z"
        return 200, written(job)


def disable_job(call: Call) -> Reply:
    """``DELETE /jobs/{jobId}/active``: no longer hiring."""
    with call.catalog.lock:
        job = _managed(call)
        job.update(status="finish", hiring=False)
        return 200, written(job)


def accessible_jobs(call: Call) -> Reply:
    """``GET /companies/{companyId}/jobs/accessible``: every job of the
    company for a manager, the jobs with a resource role otherwise."""
    permalink = call.param("companyId")
    with call.catalog.lock:
        call.catalog.company(permalink)
        jobs = [j for j in call.catalog.jobs.values() if j["company"] == permalink]
        if call.sub not in call.catalog.managers.get(permalink, set()):
            roles = call.catalog.resource_roles.get((call.sub, permalink), [])
            allowed = {rid for kind, rid in roles if kind == "JOB"}
            jobs = [j for j in jobs if str(j["jobId"]) in allowed]
        items = [written(j) for j in jobs]
    return 200, paginate(items, call.param("page", 1), call.param("pageSize", 20))


HANDLERS = {
    "searchJobs": search_jobs,
    "getJob": get_job,
    "createJob": create_job,
    "updatePlatformJob": update_job,
    "deleteJob": delete_job,
    "publishJob": publish_job,
    "disableJob": disable_job,
    "listAccessibleCompanyJobs": accessible_jobs,
}
