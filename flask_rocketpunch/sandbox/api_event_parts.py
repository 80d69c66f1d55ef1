"""An event's parts: tickets, sessions, hosts and FAQs."""

from __future__ import annotations

import itertools
import typing as t
from collections.abc import Callable

from .api_call import Call, Reply
from .api_events import managed, stored
from .errors import APIError

Part = dict[str, t.Any]

_NOT_FOUND = {
    "tickets": ("ticketId", "The ticket does not exist."),
    "sessions": ("sessionId", "The session does not exist."),
    "hosts": ("hostId", "The host does not exist."),
    "faqs": ("faqId", "The FAQ does not exist."),
}


def _parts(call: Call, kind: str) -> list[Part]:
    return t.cast(list[Part], managed(call)[kind])


def _part(call: Call, kind: str) -> tuple[list[Part], Part]:
    parts = _parts(call, kind)
    key, message = _NOT_FOUND[kind]
    part = next((p for p in parts if p[key] == call.param(key)), None)
    if part is None:
        raise APIError(404, "C0008", message, details=key)
    return parts, part


def _add(call: Call, kind: str, part: Part) -> Reply:
    key = _NOT_FOUND[kind][0]
    with call.catalog.lock:
        parts = _parts(call, kind)
        part[key] = call.catalog.next_id()
        parts.append(part)
    return 201, {key: part[key]}


def _patch(call: Call, kind: str, fields: dict[str, str]) -> Reply:
    key = _NOT_FOUND[kind][0]
    with call.catalog.lock:
        _, part = _part(call, kind)
        for source, target in fields.items():
            if call.body and source in call.body:
                part[target] = call.body[source]
    return 200, {key: part[key]}


def _delete(call: Call, kind: str) -> Reply:
    with call.catalog.lock:
        parts, part = _part(call, kind)
        parts.remove(part)
    return 204, None


# -- tickets --------------------------------------------------------------------


def list_tickets(call: Call) -> Reply:
    """``GET /events/{eventId}/tickets``, in display order."""
    with call.catalog.lock:
        tickets = t.cast(list[Part], stored(call)["tickets"])
        return 200, [{k: v for k, v in p.items() if k != "ticketId"} for p in tickets]


def _ticket(call: Call, ticket_type: str) -> Part:
    return {
        "ticketName": call.field("ticketName"),
        "ticketType": ticket_type,
        "description": call.field("description"),
        "price": call.field("price"),
        "currency": call.field("currency", "KRW" if ticket_type == "CHARGED" else None),
        "saleStartAt": call.field("salesStartAt") or call.catalog.now(),
        "saleEndAt": call.field("salesEndAt") or call.catalog.now(),
        "approvalRequired": call.field("approvalRequired", False),
        "waitingRequired": call.field("waitingRequired", False),
        "maxPerPerson": call.field("maxCount"),
        "soldOut": False,
    }


def create_free_ticket(call: Call) -> Reply:
    """``POST /events/{eventId}/tickets/free``."""
    return _add(call, "tickets", _ticket(call, "FREE"))


def create_charged_ticket(call: Call) -> Reply:
    """``POST /events/{eventId}/tickets/charged``."""
    return _add(call, "tickets", _ticket(call, "CHARGED"))


_TICKET_FIELDS = {
    "ticketName": "ticketName",
    "ticketType": "ticketType",
    "description": "description",
    "approvalRequired": "approvalRequired",
    "waitingRequired": "waitingRequired",
    "maxCount": "maxPerPerson",
    "salesStartAt": "saleStartAt",
    "salesEndAt": "saleEndAt",
    "price": "price",
    "currency": "currency",
}


def patch_ticket(call: Call) -> Reply:
    """``PATCH /events/{eventId}/tickets/{ticketId}``; a null keeps the value
    for the fields the answer requires."""
    if call.body:
        for name in ("ticketType", "salesStartAt", "salesEndAt"):
            if name in call.body and call.body[name] is None:
                del call.body[name]
    return _patch(call, "tickets", _TICKET_FIELDS)


def delete_ticket(call: Call) -> Reply:
    """``DELETE /events/{eventId}/tickets/{ticketId}``."""
    return _delete(call, "tickets")


# -- sessions -------------------------------------------------------------------


def list_sessions(call: Call) -> Reply:
    """``GET /events/{eventId}/sessions``, grouped by time slot."""
    with call.catalog.lock:
        sessions = t.cast(list[Part], stored(call)["sessions"])
        slot: Callable[[Part], tuple[str, str, str]] = lambda s: (  # noqa: E731
            s["day"],
            s["startTime"],
            s["endTime"],
        )
        answer = []
        for (day, start, end), group in itertools.groupby(
            sorted(sessions, key=slot), slot
        ):
            shown = [
                {
                    k: v
                    for k, v in s.items()
                    if k not in ("sessionId", "day", "startTime", "endTime")
                }
                for s in group
            ]
            answer.append(
                {"day": day, "startTime": start, "endTime": end, "sessions": shown}
            )
    return 200, answer


def _speakers(call: Call) -> list[dict[str, object]]:
    speakers = t.cast(list[dict[str, object]], call.field("speakers", []))
    return [
        {"name": s["speakerName"], "jobOrDept": s.get("jobOrDept")} for s in speakers
    ]


def create_session(call: Call) -> Reply:
    """``POST /events/{eventId}/sessions``."""
    session: Part = {
        "day": call.field("day"),
        "startTime": call.field("startTime"),
        "endTime": call.field("endTime"),
        "sessionName": call.field("sessionName"),
        "description": call.field("description"),
        "videoUrl": call.field("videoUrl"),
        "thumbnailUrl": call.field("thumbnailPath"),
        "speakers": _speakers(call),
        "tags": [],
    }
    return _add(call, "sessions", session)


def patch_session(call: Call) -> Reply:
    """``PATCH /events/{eventId}/sessions/{sessionId}``."""
    if call.body and "speakers" in call.body:
        call.body["speakers"] = _speakers(call)
    fields = {k: k for k in ("sessionName", "description", "videoUrl", "speakers")}
    return _patch(call, "sessions", {**fields, "thumbnailPath": "thumbnailUrl"})


def delete_session(call: Call) -> Reply:
    """``DELETE /events/{eventId}/sessions/{sessionId}``."""
    return _delete(call, "sessions")


# -- hosts ----------------------------------------------------------------------


def add_host(call: Call) -> Reply:
    """``POST /events/{eventId}/hosts``: a company or member co-host."""
    host: Part = {
        "hostType": call.field("hostType"),
        "id": call.field("hostId"),
        "roles": [call.field("role")],
    }
    return _add(call, "hosts", host)


def update_host_role(call: Call) -> Reply:
    """``PATCH /events/{eventId}/hosts/{hostId}``."""
    if call.body:
        call.body["roles"] = [call.body["role"]]
    return _patch(call, "hosts", {"roles": "roles"})


def remove_host(call: Call) -> Reply:
    """``DELETE /events/{eventId}/hosts/{hostId}``."""
    return _delete(call, "hosts")


# -- FAQs -----------------------------------------------------------------------


def list_faqs(call: Call) -> Reply:
    """``GET /events/{eventId}/faqs``, grouped by category."""
    with call.catalog.lock:
        faqs = t.cast(list[Part], stored(call)["faqs"])
        categories: dict[str, list[dict[str, object]]] = {}
        for faq in faqs:
            entry = {"title": faq["title"], "content": faq["content"]}
            categories.setdefault(faq["categoryName"], []).append(entry)
    return 200, [{"categoryName": n, "faqs": f} for n, f in categories.items()]


def create_faq(call: Call) -> Reply:
    """``POST /events/{eventId}/faqs``."""
    faq: Part = {k: call.field(k) for k in ("categoryName", "title", "content")}
    return _add(call, "faqs", faq)


def patch_faq(call: Call) -> Reply:
    """``PATCH /events/{eventId}/faqs/{faqId}``."""
    return _patch(call, "faqs", {"title": "title", "content": "content"})


def delete_faq(call: Call) -> Reply:
    """``DELETE /events/{eventId}/faqs/{faqId}``."""
    return _delete(call, "faqs")


HANDLERS = {
    "getEventTickets": list_tickets,
    "createFreeEventTicket": create_free_ticket,
    "createChargedEventTicket": create_charged_ticket,
    "patchEventTicket": patch_ticket,
    "deleteEventTicket": delete_ticket,
    "getEventSessions": list_sessions,
    "createEventSession": create_session,
    "patchEventSession": patch_session,
    "deleteEventSession": delete_session,
    "addEventHost": add_host,
    "updateEventHostRole": update_host_role,
    "removeEventHost": remove_host,
    "getEventFaqs": list_faqs,
    "createEventFaq": create_faq,
    "patchEventFaq": patch_faq,
    "deleteEventFaq": delete_faq,
}
