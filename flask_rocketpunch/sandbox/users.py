"""Sample users the sandbox provider can log in as.

===========  ==================  =============================================
username     name                role
===========  ==================  =============================================
``minji``    Minji Kim           Owner of every client registered without
                                 ``owners`` (so she may grant the owner-only
                                 scopes); manages the company
                                 ``rocketpunch-sandbox``.
``seojun``   박서준              A member: ``profile`` and ``email`` only.
``alex``     Alex Rivera         A member: ``profile`` and ``email`` only.
``jiwoo``    (none)              A member with no display name and no
                                 picture: ``name`` and ``picture`` are
                                 ``null``, as the OpenAPI description allows.
===========  ==================  =============================================
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SandboxUser:
    """A Rocketpunch account in the sandbox.

    :param sub: The immutable user identifier returned as the ``sub`` claim.
    :param name: The display name (``name`` claim); ``None`` gives a
        ``null`` claim.
    :param preferred_username: The profile permalink (``preferred_username``
        claim). Tests may also look a user up by it.
    :param email: The email address, returned only with the email scope.
    :param avatar: A file name under the sandbox's ``static`` folder, served as
        the ``picture`` claim with an absolute URL.
    :param picture: An absolute picture URL, used instead of ``avatar``.
        Without either, the ``picture`` claim is ``null``.
    :param headline: A line of profile shown under the name on the consent
        page, in the user's own language.
    :param locale: The language of the user's name and headline (``"ko"``,
        ``"en"``), for the page's ``lang`` attributes.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        ``headline`` and ``locale``; sample users in Korean and English.
    """

    sub: str
    name: str | None
    preferred_username: str
    email: str | None = None
    avatar: str | None = None
    picture: str | None = None
    headline: str | None = None
    locale: str | None = None


SAMPLE_USERS: tuple[SandboxUser, ...] = (
    SandboxUser(
        sub="OA-5a1d3c0e9b7f4e21a8c6d2b4f0e1a7c3",
        name="Minji Kim",
        preferred_username="minji",
        email="minji@example.com",
        avatar="avatar-minji.svg",
        headline="Backend engineer at a fintech startup in Seoul",
        locale="en",
    ),
    SandboxUser(
        sub="OA-8f2e4b6d1c3a5e7f9b0d2c4e6a8f1b3d",
        name="박서준",
        preferred_username="seojun",
        email="seojun@example.org",
        avatar="avatar-seojun.svg",
        headline="판교의 스타트업에서 일하는 프론트엔드 개발자",
        locale="ko",
    ),
    SandboxUser(
        sub="OA-c7e9a1b3d5f70246a8c0e2b4d6f81357",
        name="Alex Rivera",
        preferred_username="alex",
        email="alex.rivera@example.net",
        avatar="avatar-alex.svg",
        headline="Product manager, building hiring tools in Singapore",
        locale="en",
    ),
    SandboxUser(
        sub="OA-2b4d6f8091a3c5e7f9081a2b3c4d5e6f",
        name=None,
        preferred_username="jiwoo",
        email="jiwoo@example.kr",
        headline="부산에서 일하는 데이터 분석가",
        locale="ko",
    ),
)
"""Four sample users with distinct usernames and emails: three with names,
avatars and profiles (a Korean one, 박서준, ``seojun``, and two who write in
English), and ``jiwoo`` with neither name nor picture (``null`` ``name`` and
``picture``). The first, ``minji``, owns every client registered without
``owners``."""


def display_name(user: SandboxUser) -> str:
    """The name to show for a user: the ``name``, else ``@username``.

    :param user: The user.
    """
    return user.name if user.name is not None else f"@{user.preferred_username}"
