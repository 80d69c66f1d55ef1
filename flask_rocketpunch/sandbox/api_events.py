"""``/api/v1/events`` and ``/events/{eventId}``: search, read, create,
update and delete events (their parts are in :mod:`.api_event_parts`)."""

from __future__ import annotations

import secrets
from datetime import date

from .api_call import Call, Reply
from .api_request import invalid
from .catalog import WEB_URL, Catalog, paginate
from .errors import APIError
from .schema_check import parse_datetime

Event = dict[str, object]

_STATUSES = ("UPCOMING", "ONGOING", "CLOSED")
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PATCHABLE = (
    "eventName",
    "accessType",
    "eventOpenType",
    "joinType",
    "startAt",
    "endAt",
    "onlineLink",
    "eventCategories",
    "eventSubjects",
)
_LOCATION = {
    "country": "country",
    "region": "region",
    "locality": "locality",
    "locationTitle": "placeName",
    "locationAddress": "address",
    "locationDetail": "addressDetail",
    "locationDescription": "directions",
    "latitude": "latitude",
    "longitude": "longitude",
}


def _hosts(catalog: Catalog, event: Event) -> list[dict[str, object]]:
    hosts: list[dict[str, object]] = event["hosts"]  # type: ignore[assignment]
    answer = []
    for host in hosts:
        if host["hostType"] != "COMPANY":
            continue  # The description shows company hosts only.
        company = catalog.companies.get(str(host["id"]), {})
        answer.append(
            {
                "hostType": "COMPANY",
                "name": company.get("name", host["id"]),
                "id": host["id"],
                "profileImageUrl": company.get("logoUrl"),
                "roles": host["roles"],
            }
        )
    return answer


def _common(catalog: Catalog, event: Event) -> dict[str, object]:
    keys = (
        "eventId",
        "eventName",
        "eventCategories",
        "eventSubjects",
        "startAt",
        "endAt",
    )
    body = {key: event[key] for key in keys}
    body.update(
        eventOpenType=event["eventOpenType"],
        location=event["location"],
        bannerUrl=event["bannerUrl"],
        hosts=_hosts(catalog, event),
        stats={"viewCount": event["viewCount"], "guestCount": event["guestCount"]},
        webUrl=f"{WEB_URL}/event/{event['eventId']}",
    )
    return body


def _detail(catalog: Catalog, event: Event) -> dict[str, object]:
    body = _common(catalog, event)
    for key in ("descriptionHtml", "language", "eventStatus", "joinType"):
        body[key] = event[key]
    body.update(
        attachments=event["attachments"],
        onlineLink=event["onlineLink"],
        createdAt=event["createdAt"],
    )
    return body


def written(event: Event) -> dict[str, object]:
    """An event as ``EventWriteResponse``.

    :param event: The stored event.
    """
    return {
        "eventId": event["eventId"],
        "webUrl": f"{WEB_URL}/event/{event['eventId']}",
    }


def _day(call: Call, name: str) -> date | None:
    text = call.param(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(name, f"must be a date (YYYY-MM-DD). Input: {text}") from None


def _status(event: Event, now: str) -> str:
    if now < str(event["startAt"]):
        return "UPCOMING"
    return "ONGOING" if now <= str(event["endAt"]) else "CLOSED"


def search_events(call: Call) -> Reply:
    """``GET /events``: filter by keyword, categories, subjects, open types,
    start dates and status; nearest start first."""
    status = call.param("status")
    if status is not None and status not in _STATUSES:
        raise invalid("status", f"must be one of {', '.join(_STATUSES)}.")
    start_from, start_to = _day(call, "startDateFrom"), _day(call, "startDateTo")
    keyword = str(call.param("keyword", "")).casefold()
    now = call.catalog.now()
    found = []
    with call.catalog.lock:
        for event in call.catalog.events.values():
            start = parse_datetime(str(event["startAt"])).date()
            text = f"{event['eventName']} {event['descriptionHtml'] or ''}".casefold()
            if (
                keyword in text
                and _any(call.param("categories"), event["eventCategories"])
                and _any(call.param("subjects"), event["eventSubjects"])
                and _any(call.param("openTypes"), [event["eventOpenType"]])
                and (start_from is None or start >= start_from)
                and (start_to is None or start <= start_to)
                and (status is None or _status(event, now) == status)
            ):
                found.append(event)
        found.sort(key=lambda e: str(e["startAt"]))
        items = [_common(call.catalog, e) for e in found]
    return 200, paginate(items, call.param("page", 1), call.param("pageSize", 20))


def _any(wanted: object, values: object) -> bool:
    return not wanted or bool(set(wanted) & set(values))  # type: ignore[call-overload]


def stored(call: Call) -> Event:
    """The event of the ``eventId`` path parameter, or 404 ``EV001``.

    :param call: The call.
    """
    event = call.catalog.events.get(call.param("eventId"))
    if event is None:
        raise APIError(404, "EV001", "The event does not exist.", details="eventId")
    return event


def managed(call: Call) -> Event:
    """The event, if the caller manages its company (else 403 ``C0012``).

    :param call: The call.
    """
    event = stored(call)
    call.catalog.require_manager(call.sub, str(event["company"]))
    return event


def get_event(call: Call) -> Reply:
    """``GET /events/{eventId}``."""
    with call.catalog.lock:
        return 200, _detail(call.catalog, stored(call))


def _location(call: Call, event: Event) -> None:
    location = dict(event["location"] or {})  # type: ignore[call-overload]
    for source, target in _LOCATION.items():
        if call.body and source in call.body:
            location[target] = call.body[source]
    if location:
        event["location"] = {
            target: location.get(target) for target in _LOCATION.values()
        }


def _times(call: Call) -> None:
    start, end = call.field("startAt"), call.field("endAt")
    if start and end and parse_datetime(start) > parse_datetime(end):
        raise invalid("endAt", "must not be before startAt.")


def create_event(call: Call) -> Reply:
    """``POST /events?companyId=``: an event of a company the user manages."""
    _times(call)
    permalink = call.param("companyId")
    with call.catalog.lock:
        call.catalog.require_manager(call.sub, permalink)
        event_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
        event: Event = {key: call.field(key) for key in _PATCHABLE}
        event.update(
            eventId=event_id,
            company=permalink,
            descriptionHtml=f"<p>{call.field('description')}</p>",
            language=None,
            eventStatus="PUBLISHED",
            bannerUrl=f"https://cdn.example.com/events/{event_id}/banner",
            attachments=[
                {
                    "url": f"https://cdn.example.com/events/{event_id}/{f.filename}",
                    "fileName": f.filename,
                }
                for f in call.files.get("attachments", [])
            ],
            location=None,
            viewCount=0,
            guestCount=0,
            createdAt=call.catalog.now(),
            participants=0,
            tickets=[],
            sessions=[],
            faqs=[],
            hosts=[
                {
                    "hostId": call.catalog.next_id(),
                    "hostType": "COMPANY",
                    "id": permalink,
                    "roles": ["ORGANIZER"],
                }
            ],
        )
        _location(call, event)
        call.catalog.events[event_id] = event
    return 201, written(event)


def patch_event(call: Call) -> Reply:
    """``PATCH /events/{eventId}``: only the fields sent change."""
    _times(call)
    with call.catalog.lock:
        event = managed(call)
        for key in _PATCHABLE:
            if call.body and key in call.body:
                event[key] = call.body[key]
        if call.body and "description" in call.body:
            event["descriptionHtml"] = f"<p>{call.body['description']}</p>"
        _location(call, event)
        return 200, written(event)


def delete_event(call: Call) -> Reply:
    """``DELETE /events/{eventId}``: only without tickets or participants
    (else 409 ``EV022``)."""
    with call.catalog.lock:
        event = managed(call)
        if event["tickets"] or event["participants"]:
            raise APIError(
                409,
                "EV022",
                "The event has tickets or participants: delete it on the"
                " Rocketpunch Enterprise web.",
            )
        del call.catalog.events[str(event["eventId"])]
    return 204, None


HANDLERS = {
    "searchEvents": search_events,
    "getEvent": get_event,
    "createEvent": create_event,
    "patchEvent": patch_event,
    "deleteEvent": delete_event,
}
