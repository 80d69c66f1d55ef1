"""The sandbox's ``/api/v1`` operations as an API user meets them: the App
Key and bearer security, validation errors with the description's codes,
filters, pagination, ownership and the write operations. (Every response
here is also checked against the description by ``openapi_check``.)"""

from __future__ import annotations

import io
import json
import typing as t

import pytest
from flask.testing import FlaskClient

from flask_rocketpunch.sandbox import SandboxProvider, create_sandbox_app

KEY = "rp_app_test"
OTHER_KEY = "rp_app_other"


class API:
    """A test client with the App Key and, when given, a bearer token."""

    def __init__(self) -> None:
        self.provider = SandboxProvider()
        # Two owners, so both may be granted the owner-only scopes.
        self.provider.register_client(
            KEY, "secret", "http://127.0.0.1/cb", owners=["minji", "seojun"]
        )
        self.provider.register_client(OTHER_KEY, "secret", "http://127.0.0.1/cb")
        self.client: FlaskClient = create_sandbox_app(self.provider).test_client()

    def token(self, user: str = "minji", scope: str = "profile", key: str = KEY) -> str:
        return self.provider.issue_token(user, key, scope)["access_token"]

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        key: str | None = KEY,
        **kwargs: t.Any,
    ) -> t.Any:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["X-RP-API-Key"] = key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(
            f"/api/v1{path}", method=method, headers=headers, **kwargs
        )


@pytest.fixture
def api() -> API:
    return API()


def test_public_reads_take_the_app_key_alone(api: API) -> None:
    for path in ("/posts", "/jobs", "/events", "/codes/seniorities", "/posts/9876541"):
        assert api.call("GET", path).status_code == 200, path


def test_a_bearer_token_without_the_app_key_is_refused(api: API) -> None:
    answer = api.call("GET", "/posts", api.token(), key=None)
    assert answer.status_code == 401
    body = answer.get_json()
    assert (body["code"], body["details"]) == ("C0001", "X-RP-API-Key")
    assert body["timestamp"].endswith("Z")
    writer = api.token(scope="post:write")
    assert (
        api.call("POST", "/posts", writer, key=None, json={"text": "x"}).status_code
        == 401
    )


def test_unknown_or_foreign_app_keys_are_refused(api: API) -> None:
    assert api.call("GET", "/jobs", key="nope").get_json()["code"] == "C0001"
    mine = api.token(scope="post:write")
    answer = api.call("POST", "/posts", mine, key=OTHER_KEY, json={"text": "x"})
    assert answer.status_code == 401


def test_user_operations_need_the_bearer_token_beside_the_key(api: API) -> None:
    answer = api.call("POST", "/posts", json={"text": "hi"})
    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer.headers


def test_the_switch_accepts_a_bearer_token_alone(api: API) -> None:
    api.provider.require_app_key = False
    assert api.call("GET", "/posts", api.token(), key=None).status_code == 200
    assert api.call("GET", "/posts", key=None).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=NEWEST", "sort"),
        ("hasImages=maybe", "hasImages"),
        ("keyword=" + "k" * 101, "keyword"),
        ("companyId=no%20spaces", "companyId"),
        ("page=9999999999", "page"),
        ("pageSize=abc", "pageSize"),
        ("postedAfter=yesterday", "postedAfter"),
    ],
)
def test_invalid_search_parameters_are_400_c0005(
    api: API, query: str, field: str
) -> None:
    answer = api.call("GET", f"/posts?{query}")
    assert answer.status_code == 400
    assert (answer.get_json()["code"], answer.get_json()["details"]) == ("C0005", field)


def test_pagination_is_normalized_as_the_prose_says(api: API) -> None:
    page = api.call("GET", "/posts?page=0&pageSize=500").get_json()
    assert (page["page"], page["pageSize"]) == (1, 50)
    page = api.call("GET", "/posts?page=3&pageSize=2").get_json()
    assert page["totalPages"] == 3
    assert len(page["items"]) == 1
    assert api.call("GET", "/posts?page=9").get_json()["items"] == []


def test_post_filters_and_sorts(api: API) -> None:
    def ids(query: str) -> list[int]:
        return [
            p["postId"] for p in api.call("GET", f"/posts?{query}").get_json()["items"]
        ]

    assert ids("hasImages=true") == [9876543, 9876541]
    assert 9876541 not in ids("hasOg=false")
    assert ids("companyId=hanbit-robotics") == [9876543]
    assert ids("keyword=OAUTH") == [9876542]
    assert ids("postedAfter=2026-05-23&postedBefore=2026-05-24T00:00:00Z") == [9876543]
    assert ids("sort=RECENT")[0] == 9876544


def test_posts_created_through_the_api_are_the_authors_own(api: API) -> None:
    writer = api.token(scope="post:write")
    request = {"text": "샌드박스 hello", "og": {"link": "https://example.com"}}
    image = (io.BytesIO(b"\x89PNG fake"), "photo.png", "image/png")
    created = api.call(
        "POST",
        "/posts",
        writer,
        data={"request": json.dumps(request), "images": image},
        content_type="multipart/form-data",
    )
    assert created.status_code == 201
    post_id = created.get_json()["postId"]
    assert created.get_json()["og"]["link"] == "https://example.com"
    assert len(created.get_json()["images"]) == 1
    mine = api.call("GET", f"/posts/{post_id}", writer).get_json()
    assert mine["owned"] is True
    assert mine["author"]["id"] == "minji"
    assert mine["stats"] == {"likeCount": 0, "commentCount": 0}
    assert api.call("GET", f"/posts/{post_id}").get_json()["owned"] is False
    listed = api.call("GET", "/posts?sort=RECENT", writer).get_json()["items"][0]
    assert (listed["postId"], listed["owned"]) == (post_id, True)
    other = api.token("seojun", "post:write")
    assert api.call("DELETE", f"/posts/{post_id}", other).get_json()["code"] == "P0003"
    updated = api.call("PUT", f"/posts/{post_id}", writer, json={"text": "edited"})
    assert updated.get_json()["content"] == "edited"
    assert api.call("DELETE", f"/posts/{post_id}", writer).status_code == 204
    assert api.call("GET", f"/posts/{post_id}").get_json()["code"] == "P0002"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"og": None}, "C0005", "text"),
        ({"text": "x" * 5001}, "C0005", "text"),
        ({"text": "x", "og": {"title": "no link"}}, "C0005", "og.link"),
        ({"text": "x", "og": {"link": "l" * 201}}, "C0005", "og.link"),
        ({"text": "x", "og": "https://example.com"}, "C0005", "og"),
    ],
)
def test_invalid_post_bodies_are_400(
    api: API, body: dict[str, object], code: str, field: str
) -> None:
    answer = api.call("POST", "/posts", api.token(scope="post:write"), json=body)
    assert answer.status_code == 400
    assert (answer.get_json()["code"], answer.get_json()["details"]) == (code, field)


def test_invalid_images_are_refused_with_their_codes(api: API) -> None:
    # Three posts in a minute: more than post.create allows; not the point here.
    api.provider.enforce_rate_limit = False
    writer = api.token(scope="post:write")
    request = json.dumps({"text": "x"})

    def post(images: list[tuple[io.BytesIO, str, str]]) -> t.Any:
        data = {"request": request, "images": images}
        return api.call(
            "POST", "/posts", writer, data=data, content_type="multipart/form-data"
        )

    text_file = (io.BytesIO(b"hello"), "notes.txt", "text/plain")
    assert post([text_file]).get_json()["code"] == "P0012"
    many = [(io.BytesIO(b"x"), f"{i}.png", "image/png") for i in range(11)]
    assert post(many).get_json()["code"] == "P0010"
    assert (
        api.call(
            "POST", "/posts", writer, data="{", content_type="application/json"
        ).get_json()["code"]
        == "C0002"
    )


def test_scopes_are_required_per_operation(api: API) -> None:
    reader = api.token(scope="profile")
    answer = api.call("POST", "/posts", reader, json={"text": "x"})
    assert (answer.status_code, answer.get_json()["code"]) == (403, "C0011")
    answer = api.call("GET", "/companies/rocketpunch-sandbox/jobs/accessible", reader)
    assert answer.get_json()["details"] == "job:manage:read"


def test_a_manager_creates_and_runs_a_job(api: API) -> None:
    manager = api.token(scope="job:write job:manage:read")
    request = {
        "jobTitle": "Flask 개발자",
        "jobCategory": "DEVELOPER",
        "seniorities": ["JUNIOR"],
        "employmentTypes": ["FULL_TIME"],
        "jobBio": "About us",
        "jobResponse": "Build things",
        "settings": [{"type": "RESUME"}],
        "startDate": "2026-06-01",
    }
    created = api.call(
        "POST",
        "/jobs/platform?companyId=rocketpunch-sandbox",
        manager,
        data={"request": json.dumps(request)},
        content_type="multipart/form-data",
    )
    assert created.status_code == 201
    job_id = created.get_json()["jobId"]
    assert api.call("GET", f"/jobs/{job_id}").get_json()["title"] == "Flask 개발자"
    stop = api.call(
        "DELETE", f"/jobs/{job_id}/active?companyId=rocketpunch-sandbox", manager
    )
    assert stop.get_json()["hiring"] is False
    assert job_id not in [
        j["jobId"] for j in api.call("GET", "/jobs").get_json()["items"]
    ]
    outsider = api.token("seojun", "job:write")
    refused = api.call(
        "DELETE", f"/jobs/{job_id}?companyId=rocketpunch-sandbox", outsider
    )
    assert (refused.status_code, refused.get_json()["code"]) == (403, "C0012")
    assert (
        api.call(
            "DELETE", f"/jobs/{job_id}?companyId=rocketpunch-sandbox", manager
        ).status_code
        == 204
    )
    assert api.call("GET", f"/jobs/{job_id}").get_json()["code"] == "R0001"


def test_event_parts_and_the_409_of_an_event_with_tickets(api: API) -> None:
    manager = api.token(scope="event:write")
    event = "/events/8H2KQ9XJ4P"
    assert api.call("DELETE", event, manager).get_json()["code"] == "EV022"
    faq = api.call(
        "POST",
        f"{event}/faqs",
        manager,
        json={"categoryName": "참가", "title": "Wi-Fi?", "content": "Yes"},
    )
    assert faq.status_code == 201
    faqs = api.call("GET", f"{event}/faqs").get_json()
    assert {"title": "Wi-Fi?", "content": "Yes"} in faqs[0]["faqs"]
    assert api.call("GET", "/events/NOPE/faqs").get_json()["code"] == "EV001"


def test_codes_follow_accept_language(api: API) -> None:
    korean = api.call("GET", "/codes/employment-types").get_json()[0]
    english = api.call(
        "GET", "/codes/employment-types", headers={"Accept-Language": "en"}
    ).get_json()[0]
    assert (korean["displayName"], english["displayName"]) == ("정규직", "Full-time")


def test_resource_roles_and_company_permissions(api: API) -> None:
    seojun = api.token("seojun", "company:manage:read")
    path = "/me/company-permissions/hanbit-robotics/resource-roles"
    items = api.call("GET", f"{path}?resourceType=JOB", seojun).get_json()["items"]
    assert [i["resourceId"] for i in items] == ["9001235"]
    assert api.call(
        "GET", f"{path}?resourceType=JOB&resourceId=1", seojun
    ).get_json() == {"items": []}
    assert (
        api.call("GET", f"{path}?resourceType=PAGE", seojun).get_json()["code"]
        == "C0005"
    )
    assert api.call("GET", "/me/company-permissions", seojun).get_json() == {
        "companies": []
    }


def test_unlisted_methods_are_405_with_allow(api: API) -> None:
    answer = api.call("PATCH", "/posts/1")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, PUT, DELETE"
