"""The sandbox's event and job write operations as an API user meets them:
events and their tickets, sessions, hosts and FAQs; publishing, disabling,
updating and deleting jobs; the documented errors (404, 403, 409, 400)."""

from __future__ import annotations

import io
import json
import typing as t

import pytest
from test_sandbox_api_operations import API

from flask_rocketpunch.sandbox import api_request

EVENT = "/events/8H2KQ9XJ4P"  # rocketpunch-sandbox's, managed by minji
FOREIGN_EVENT = "/events/3M7ZP2WQ8D"  # hanbit-robotics'
SANDBOX = "companyId=rocketpunch-sandbox"


@pytest.fixture
def api() -> API:
    return API()


def _multipart(api: API, method: str, path: str, token: str, **data: t.Any) -> t.Any:
    return api.call(method, path, token, data=data, content_type="multipart/form-data")


def _new_event(api: API, token: str, **fields: object) -> t.Any:
    request: dict[str, object] = {
        "eventName": "Flask 밋업",
        "description": "Talks",
        "eventCategories": ["NETWORKING"],
        "eventSubjects": ["TECHNOLOGY"],
        "accessType": "PUBLIC",
        "eventOpenType": "OFFLINE",
        "joinType": "OPEN",
        "startAt": "2026-11-01T10:00:00Z",
        "endAt": "2026-11-01T12:00:00Z",
        "locationTitle": "Hall A",
        "latitude": 37.5,
        "hosts": [{"hostType": "COMPANY", "hostId": "rocketpunch-sandbox"}],
        **fields,
    }
    return _multipart(
        api,
        "POST",
        f"/events?{SANDBOX}",
        token,
        request=json.dumps(request),
        banner=(io.BytesIO(b"\x89PNG"), "banner.png", "image/png"),
        attachments=(io.BytesIO(b"%PDF"), "agenda.pdf", "application/pdf"),
    )


def test_search_events_filters(api: API) -> None:
    def ids(query: str) -> list[str]:
        answer = api.call("GET", f"/events?{query}")
        assert answer.status_code == 200
        return [e["eventId"] for e in answer.get_json()["items"]]

    assert ids("") == ["5T1CAF3B9K", "8H2KQ9XJ4P", "3M7ZP2WQ8D"]
    assert ids("keyword=HACKATHON") == ["3M7ZP2WQ8D"]
    assert ids("categories=CONFERENCE,COMPETITION") == ["8H2KQ9XJ4P", "3M7ZP2WQ8D"]
    assert ids("subjects=CULTURE") == ["5T1CAF3B9K"]
    assert ids("openTypes=ON_OFFLINE") == ["3M7ZP2WQ8D"]
    assert ids("startDateFrom=2026-09-01&startDateTo=2026-09-30") == ["8H2KQ9XJ4P"]
    by_status = [ids(f"status={s}") for s in ("UPCOMING", "ONGOING", "CLOSED")]
    assert sorted(e for found in by_status for e in found) == sorted(ids(""))
    first = api.call("GET", "/events?keyword=AI").get_json()["items"][0]
    assert first["hosts"][0] == {
        "hostType": "COMPANY",
        "name": first["hosts"][0]["name"],
        "id": "rocketpunch-sandbox",
        "profileImageUrl": first["hosts"][0]["profileImageUrl"],
        "roles": ["ORGANIZER"],
    }
    assert first["stats"] == {"viewCount": 1520, "guestCount": 230}
    assert first["webUrl"].endswith("/event/8H2KQ9XJ4P")


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=DONE", "status"), ("startDateFrom=tomorrow", "startDateFrom")],
)
def test_invalid_event_search_is_400(api: API, query: str, field: str) -> None:
    answer = api.call("GET", f"/events?{query}")
    assert answer.status_code == 400
    assert (answer.get_json()["code"], answer.get_json()["details"]) == ("C0005", field)


def test_get_event_and_unknown_ids(api: API) -> None:
    event = api.call("GET", EVENT).get_json()
    assert (event["eventName"], event["joinType"]) == ("2026 AI 컨퍼런스", "REGISTERED")
    assert event["attachments"][0]["fileName"] == "map.png"
    missing = api.call("GET", "/events/NOPE")
    assert (missing.status_code, missing.get_json()["code"]) == (404, "EV001")
    manager = api.token(scope="event:write")
    assert api.call("DELETE", "/events/NOPE", manager).status_code == 404
    for part in ("tickets", "sessions", "faqs"):
        assert api.call("GET", f"/events/NOPE/{part}").get_json()["code"] == "EV001"


def test_create_update_and_delete_an_event(api: API) -> None:
    manager = api.token(scope="event:write")
    created = _new_event(api, manager)
    assert created.status_code == 201
    event_id = created.get_json()["eventId"]
    assert created.get_json()["webUrl"].endswith(f"/event/{event_id}")
    event = api.call("GET", f"/events/{event_id}").get_json()
    assert event["eventName"] == "Flask 밋업"
    assert event["descriptionHtml"] == "<p>Talks</p>"
    assert event["location"]["placeName"] == "Hall A"
    assert event["location"]["latitude"] == 37.5
    assert event["attachments"][0]["fileName"] == "agenda.pdf"
    assert event["hosts"][0]["id"] == "rocketpunch-sandbox"

    patched = _multipart(
        api,
        "PATCH",
        f"/events/{event_id}",
        manager,
        request=json.dumps(
            {"eventName": "Renamed", "description": "New", "region": "Busan"}
        ),
    )
    assert patched.status_code == 200
    assert patched.get_json()["eventId"] == event_id
    event = api.call("GET", f"/events/{event_id}").get_json()
    assert (event["eventName"], event["descriptionHtml"]) == ("Renamed", "<p>New</p>")
    assert event["location"]["region"] == "Busan"
    assert event["location"]["placeName"] == "Hall A"
    assert event["eventOpenType"] == "OFFLINE"

    assert api.call("DELETE", f"/events/{event_id}", manager).status_code == 204
    assert api.call("GET", f"/events/{event_id}").status_code == 404


def test_event_times_must_be_in_order(api: API) -> None:
    manager = api.token(scope="event:write")
    answer = _new_event(api, manager, endAt="2026-10-01T00:00:00Z")
    assert answer.status_code == 400
    assert (answer.get_json()["code"], answer.get_json()["details"]) == (
        "C0005",
        "endAt",
    )
    patched = api.call(
        "PATCH",
        EVENT,
        manager,
        json={"startAt": "2026-09-02T00:00:00Z", "endAt": "2026-09-01T00:00:00Z"},
    )
    assert patched.get_json()["details"] == "endAt"


def test_another_companys_event_is_403(api: API) -> None:
    manager = api.token(scope="event:write")
    for method, path, body in [
        ("PATCH", FOREIGN_EVENT, {"eventName": "x"}),
        ("DELETE", FOREIGN_EVENT, None),
        (
            "POST",
            f"{FOREIGN_EVENT}/faqs",
            {"categoryName": "a", "title": "b", "content": "c"},
        ),
    ]:
        answer = api.call(method, path, manager, json=body)
        assert (answer.status_code, answer.get_json()["code"]) == (403, "C0012"), path
    outsider = api.token("seojun", "event:write")
    answer = _new_event(api, outsider)
    assert (answer.status_code, answer.get_json()["code"]) == (403, "C0012")


def test_an_event_with_tickets_cannot_be_deleted(api: API) -> None:
    manager = api.token(scope="event:write")
    event_id = _new_event(api, manager).get_json()["eventId"]
    path = f"/events/{event_id}"
    ticket = api.call(
        "POST", f"{path}/tickets/free", manager, json={"ticketName": "Free"}
    )
    answer = api.call("DELETE", path, manager)
    assert (answer.status_code, answer.get_json()["code"]) == (409, "EV022")
    ticket_id = ticket.get_json()["ticketId"]
    assert api.call("DELETE", f"{path}/tickets/{ticket_id}", manager).status_code == 204
    assert api.call("DELETE", path, manager).status_code == 204


def test_tickets_free_and_charged(api: API) -> None:
    manager = api.token(scope="event:write")
    path = f"{EVENT}/tickets"
    free = api.call(
        "POST",
        f"{path}/free",
        manager,
        json={"ticketName": "Student", "maxCount": 1, "approvalRequired": True},
    )
    assert free.status_code == 201
    free_id = free.get_json()["ticketId"]
    charged = api.call(
        "POST",
        f"{path}/charged",
        manager,
        json={
            "ticketName": "VIP",
            "price": 100000,
            "salesStartAt": "2026-07-01T00:00:00Z",
        },
    )
    assert charged.status_code == 201
    charged_id = charged.get_json()["ticketId"]
    assert charged_id != free_id
    tickets = {t["ticketName"]: t for t in api.call("GET", path).get_json()}
    assert "ticketId" not in tickets["VIP"]
    assert (tickets["Student"]["ticketType"], tickets["Student"]["price"]) == (
        "FREE",
        None,
    )
    assert tickets["Student"]["currency"] is None
    assert tickets["Student"]["maxPerPerson"] == 1
    assert tickets["Student"]["approvalRequired"] is True
    assert (tickets["VIP"]["ticketType"], tickets["VIP"]["price"]) == (
        "CHARGED",
        100000,
    )
    assert tickets["VIP"]["currency"] == "KRW"
    assert tickets["VIP"]["saleStartAt"] == "2026-07-01T00:00:00Z"

    patched = api.call(
        "PATCH",
        f"{path}/{charged_id}",
        manager,
        json={
            "ticketName": "VVIP",
            "maxCount": 3,
            "salesStartAt": None,
            "ticketType": None,
        },
    )
    assert (patched.status_code, patched.get_json()) == (200, {"ticketId": charged_id})
    tickets = {t["ticketName"]: t for t in api.call("GET", path).get_json()}
    assert "VIP" not in tickets
    assert tickets["VVIP"]["maxPerPerson"] == 3
    assert tickets["VVIP"]["saleStartAt"] == "2026-07-01T00:00:00Z"
    assert tickets["VVIP"]["ticketType"] == "CHARGED"

    missing = api.call("PATCH", f"{path}/1", manager, json={"ticketName": "x"})
    assert (missing.status_code, missing.get_json()["code"]) == (404, "C0008")
    assert missing.get_json()["details"] == "ticketId"
    assert api.call("DELETE", f"{path}/{free_id}", manager).status_code == 204
    names = [t["ticketName"] for t in api.call("GET", path).get_json()]
    assert "Student" not in names
    assert api.call("DELETE", f"{path}/{free_id}", manager).status_code == 404


@pytest.mark.parametrize(
    ("suffix", "body", "field"),
    [
        ("free", {}, "ticketName"),
        ("free", {"ticketName": ""}, "ticketName"),
        ("charged", {"ticketName": "x"}, "price"),
        ("charged", {"ticketName": "x", "price": -1}, "price"),
    ],
)
def test_invalid_ticket_bodies_are_400(
    api: API, suffix: str, body: dict[str, object], field: str
) -> None:
    manager = api.token(scope="event:write")
    answer = api.call("POST", f"{EVENT}/tickets/{suffix}", manager, json=body)
    assert answer.status_code == 400
    assert (answer.get_json()["code"], answer.get_json()["details"]) == ("C0005", field)


def test_sessions_are_grouped_by_time_slot(api: API) -> None:
    manager = api.token(scope="event:write")
    path = "/events/5T1CAF3B9K/sessions"
    catalog = api.provider.catalog
    catalog.managers["seoul-coffee-lab"] = set(catalog.managers["rocketpunch-sandbox"])

    def session(name: str, start: str, **more: object) -> int:
        body = {
            "day": "2026-06-06",
            "startTime": start,
            "endTime": "15:00",
            "sessionName": name,
            **more,
        }
        answer = api.call("POST", path, manager, json=body)
        assert answer.status_code == 201
        return int(answer.get_json()["sessionId"])

    keynote = session(
        "Keynote", "14:00", speakers=[{"speakerName": "Kim", "jobOrDept": "CEO"}]
    )
    session("Workshop", "14:00")
    session("Opening", "13:00", thumbnailPath="https://cdn.example.com/t.png")
    slots = api.call("GET", path).get_json()
    assert [(s["startTime"], len(s["sessions"])) for s in slots] == [
        ("13:00", 1),
        ("14:00", 2),
    ]
    assert slots[0]["sessions"][0]["thumbnailUrl"] == "https://cdn.example.com/t.png"
    shown = {s["sessionName"]: s for s in slots[1]["sessions"]}
    assert shown["Keynote"]["speakers"] == [{"name": "Kim", "jobOrDept": "CEO"}]
    assert "sessionId" not in shown["Keynote"]

    patched = api.call(
        "PATCH",
        f"{path}/{keynote}",
        manager,
        json={"sessionName": "Main keynote", "speakers": [{"speakerName": "Lee"}]},
    )
    assert patched.get_json() == {"sessionId": keynote}
    shown = {
        s["sessionName"]: s for s in api.call("GET", path).get_json()[1]["sessions"]
    }
    assert shown["Main keynote"]["speakers"] == [{"name": "Lee", "jobOrDept": None}]
    assert api.call("DELETE", f"{path}/{keynote}", manager).status_code == 204
    assert [len(s["sessions"]) for s in api.call("GET", path).get_json()] == [1, 1]
    gone = api.call("DELETE", f"{path}/{keynote}", manager)
    assert (gone.status_code, gone.get_json()["details"]) == (404, "sessionId")
    invalid = api.call("POST", path, manager, json={"day": "2026-06-06"})
    assert (invalid.status_code, invalid.get_json()["code"]) == (400, "C0005")


def test_hosts_are_added_updated_and_removed(api: API) -> None:
    manager = api.token(scope="event:write")
    path = f"{EVENT}/hosts"
    added = api.call(
        "POST",
        path,
        manager,
        json={"hostType": "COMPANY", "hostId": "seoul-coffee-lab", "role": "PARTNER"},
    )
    assert added.status_code == 201
    host_id = added.get_json()["hostId"]

    def roles() -> dict[str, list[str]]:
        hosts = api.call("GET", EVENT).get_json()["hosts"]
        return {h["id"]: h["roles"] for h in hosts}

    assert roles()["seoul-coffee-lab"] == ["PARTNER"]
    member = api.call(
        "POST",
        path,
        manager,
        json={"hostType": "MEMBER", "hostId": "minji", "role": "SPONSOR"},
    )
    assert member.status_code == 201
    assert "minji" not in roles()  # only company hosts are shown
    updated = api.call("PATCH", f"{path}/{host_id}", manager, json={"role": "SPONSOR"})
    assert updated.get_json() == {"hostId": host_id}
    assert roles()["seoul-coffee-lab"] == ["SPONSOR"]
    assert api.call("DELETE", f"{path}/{host_id}", manager).status_code == 204
    assert "seoul-coffee-lab" not in roles()
    missing = api.call("PATCH", f"{path}/{host_id}", manager, json={"role": "PARTNER"})
    assert (missing.status_code, missing.get_json()["details"]) == (404, "hostId")
    invalid = api.call(
        "POST",
        path,
        manager,
        json={"hostType": "COMPANY", "hostId": "a b", "role": "PARTNER"},
    )
    assert (invalid.status_code, invalid.get_json()["details"]) == (400, "hostId")


def test_faqs_are_updated_and_deleted(api: API) -> None:
    manager = api.token(scope="event:write")
    path = f"{EVENT}/faqs"
    before = api.call("GET", path).get_json()
    created = api.call(
        "POST",
        path,
        manager,
        json={"categoryName": "주차", "title": "Parking?", "content": "No"},
    )
    faq_id = created.get_json()["faqId"]
    patched = api.call(
        "PATCH", f"{path}/{faq_id}", manager, json={"content": "B2, paid"}
    )
    assert (patched.status_code, patched.get_json()) == (200, {"faqId": faq_id})
    parking = [
        c for c in api.call("GET", path).get_json() if c["categoryName"] == "주차"
    ]
    assert parking[0]["faqs"] == [{"title": "Parking?", "content": "B2, paid"}]
    assert api.call("DELETE", f"{path}/{faq_id}", manager).status_code == 204
    assert api.call("GET", path).get_json() == before
    missing = api.call("DELETE", f"{path}/{faq_id}", manager)
    assert (missing.status_code, missing.get_json()["details"]) == (404, "faqId")
    invalid = api.call("POST", path, manager, json={"categoryName": "a", "title": "b"})
    assert (invalid.status_code, invalid.get_json()["details"]) == (400, "content")


# -- jobs -----------------------------------------------------------------------


def test_search_jobs_filters_and_sorts(api: API) -> None:
    def ids(query: str) -> list[int]:
        answer = api.call("GET", f"/jobs?{query}")
        assert answer.status_code == 200
        return [j["jobId"] for j in answer.get_json()["items"]]

    everything = ids("")
    assert 9001237 not in everything  # finished
    assert 9001238 not in everything  # draft
    assert ids("keyword=flask") == [9001234]
    assert ids("companyId=hanbit-robotics") == [9001235]
    assert ids("seniorities=JUNIOR") == [9001234]
    assert set(ids("seniorities=JUNIOR")) < set(ids("seniorities=JUNIOR,BEGINNER"))
    assert 9001234 in ids("workTypes=HYBRID")
    assert 9001234 not in ids("workTypes=REMOTE")
    assert ids("jobCategories=NOPE") == []
    assert ids("companySizes=NOPE") == []
    answer = api.call("GET", "/jobs?sort=NEWEST")
    assert (answer.status_code, answer.get_json()["details"]) == (400, "sort")


def test_jobs_read_and_their_404s(api: API) -> None:
    job = api.call("GET", "/jobs/9001234").get_json()
    assert job["company"]["id"] == "rocketpunch-sandbox"
    assert job["allowRemote"] is False
    assert api.call("GET", "/jobs/9001237").get_json()["hiring"] is False
    draft = api.call("GET", "/jobs/9001238")
    assert (draft.status_code, draft.get_json()["code"]) == (404, "R0001")
    api.provider.enforce_rate_limit = False
    manager = api.token(scope="job:write")
    foreign = api.call("DELETE", "/jobs/9001235?companyId=rocketpunch-sandbox", manager)
    assert (foreign.status_code, foreign.get_json()["code"]) == (404, "R0001")
    nothing = api.call("DELETE", "/jobs/1?companyId=rocketpunch-sandbox", manager)
    assert nothing.status_code == 404
    company = api.call("DELETE", "/jobs/9001234?companyId=nope", manager)
    assert (company.status_code, company.get_json()["code"]) == (404, "C0008")
    other = api.call("DELETE", "/jobs/9001235?companyId=hanbit-robotics", manager)
    assert (other.status_code, other.get_json()["code"]) == (403, "C0012")


def test_publish_update_and_disable_a_job(api: API) -> None:
    manager = api.token(scope="job:write")
    base = "/jobs/9001237"
    published = api.call(
        "PUT",
        f"{base}/active?{SANDBOX}",
        manager,
        json={"startDate": "2026-07-01", "endDate": "2026-08-31"},
    )
    assert published.status_code == 200
    body = published.get_json()
    assert (body["status"], body["hiring"]) == ("published", True)
    assert (body["startAt"], body["endAt"]) == (
        "2026-07-01T00:00:00Z",
        "2026-08-31T23:59:59Z",
    )
    assert 9001237 in [j["jobId"] for j in api.call("GET", "/jobs").get_json()["items"]]

    draft = api.call("PUT", f"/jobs/9001238/active?{SANDBOX}", manager, json={})
    assert draft.get_json()["status"] == "published"
    assert draft.get_json()["startAt"] is None

    updated = _multipart(
        api,
        "PATCH",
        f"{base}?type=PLATFORM&{SANDBOX}",
        manager,
        request=json.dumps({"jobTitle": "New title", "workType": "REMOTE"}),
    )
    assert updated.status_code == 200
    assert (updated.get_json()["title"], updated.get_json()["workType"]) == (
        "New title",
        "REMOTE",
    )
    job = api.call("GET", base).get_json()
    assert (job["title"], job["allowRemote"]) == ("New title", True)

    disabled = api.call("DELETE", f"{base}/active?{SANDBOX}", manager)
    assert (disabled.get_json()["status"], disabled.get_json()["hiring"]) == (
        "finish",
        False,
    )
    outsider = api.token("seojun", "job:write")
    refused = api.call("PUT", f"{base}/active?{SANDBOX}", outsider, json={})
    assert (refused.status_code, refused.get_json()["code"]) == (403, "C0012")


def test_accessible_jobs_for_managers_and_resource_roles(api: API) -> None:
    manager = api.token(scope="job:manage:read")
    answer = api.call("GET", "/companies/rocketpunch-sandbox/jobs/accessible", manager)
    assert answer.status_code == 200
    assert sorted(j["jobId"] for j in answer.get_json()["items"]) == [
        9001234,
        9001237,
        9001238,
    ]
    seojun = api.token("seojun", "job:manage:read")
    hanbit = api.call("GET", "/companies/hanbit-robotics/jobs/accessible", seojun)
    assert [j["jobId"] for j in hanbit.get_json()["items"]] == [9001235]
    none = api.call("GET", "/companies/rocketpunch-sandbox/jobs/accessible", seojun)
    assert none.get_json()["items"] == []
    unknown = api.call("GET", "/companies/nope/jobs/accessible", manager)
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "C0008")


def _create_job(api: API, token: str, query: str = SANDBOX, **data: t.Any) -> t.Any:
    return _multipart(api, "POST", f"/jobs/platform?{query}", token, **data)


JOB = {
    "jobTitle": "Engineer",
    "jobCategory": "DEVELOPER",
    "seniorities": ["JUNIOR"],
    "employmentTypes": ["FULL_TIME"],
    "jobBio": "Us",
    "jobResponse": "Work",
    "settings": [{"type": "RESUME"}],
    "startDate": "2026-06-01",
    "endDate": "2026-06-30",
}


def test_job_requests_are_read_and_checked(
    api: API, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_request, "MAX_IMAGE_BYTES", 8)
    api.provider.enforce_rate_limit = False
    manager = api.token(scope="job:write")
    as_file = _create_job(
        api,
        manager,
        request=(
            io.BytesIO(json.dumps(JOB).encode()),
            "request.json",
            "application/json",
        ),
        images=(io.BytesIO(b"\x89PNG"), "logo.png", "image/png"),
    )
    assert as_file.status_code == 201
    assert as_file.get_json()["endAt"] == "2026-06-30T23:59:59Z"
    job = api.call("GET", f"/jobs/{as_file.get_json()['jobId']}").get_json()
    assert job["jobImages"] == ["https://cdn.example.com/jobs/logo.png"]

    def refused(answer: t.Any) -> tuple[int, str, str]:
        body = answer.get_json()
        return answer.status_code, body["code"], body.get("details")

    assert refused(_create_job(api, manager, request="{")) == (400, "C0002", "request")
    assert refused(_create_job(api, manager, request="[1]")) == (
        400,
        "C0002",
        "request",
    )
    assert refused(_create_job(api, manager, other="x")) == (400, "C0002", "request")
    too_long = json.dumps({**JOB, "jobTitle": "x" * 31})
    assert refused(_create_job(api, manager, request=too_long)) == (
        400,
        "C0005",
        "jobTitle",
    )
    missing = _create_job(api, manager, query="", request=json.dumps(JOB))
    assert refused(missing) == (400, "C0005", "companyId")
    big = (io.BytesIO(b"x" * 9), "big.png", "image/png")
    assert refused(_create_job(api, manager, request=json.dumps(JOB), images=big)) == (
        400,
        "P0011",
        "images",
    )
    plain = api.call(
        "POST",
        f"{EVENT}/faqs",
        api.token(scope="event:write"),
        data="x",
        content_type="text/plain",
    )
    assert refused(plain)[:2] == (400, "C0002")


def test_an_event_needs_its_banner(api: API) -> None:
    manager = api.token(scope="event:write")
    request = json.dumps(
        {
            "eventName": "x",
            "description": "x",
            "eventCategories": ["NETWORKING"],
            "eventSubjects": ["TECHNOLOGY"],
            "accessType": "PUBLIC",
            "eventOpenType": "ONLINE",
            "joinType": "OPEN",
            "startAt": "2026-11-01T10:00:00Z",
            "endAt": "2026-11-01T12:00:00Z",
            "hosts": [{"hostType": "COMPANY", "hostId": "rocketpunch-sandbox"}],
        }
    )
    answer = _multipart(api, "POST", f"/events?{SANDBOX}", manager, request=request)
    assert (answer.status_code, answer.get_json()["details"]) == (400, "banner")
