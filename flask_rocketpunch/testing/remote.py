""":class:`RemoteSandbox`: the testing kit's view of a sandbox served by
another process (``flask rocketpunch sandbox``), through its control API."""

from __future__ import annotations

import collections
import collections.abc as cabc
import contextlib
import typing as t

import requests

from ..sandbox.control import CONTROL_PREFIX


class RemoteSandbox:
    """Read the counters of a standalone sandbox and flip its fault switches
    over HTTP, from a test in another process::

        sandbox = RemoteSandbox("http://127.0.0.1:5001")
        with sandbox.misbehave(token_status=503):
            ...
        assert sandbox.grant_counts()["refresh_token"] == 1

    The sandbox must serve its control API (``flask rocketpunch sandbox``
    does on loopback addresses; see :doc:`/sandbox`).

    :param url: The sandbox's URL, e.g. ``"http://127.0.0.1:5001"``.
    :param timeout: Seconds each control call may take.

    .. versionadded:: 0.2
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, payload: object = None) -> t.Any:
        response = self._http.request(
            method,
            f"{self.url}{CONTROL_PREFIX}/{path}",
            json=payload if method == "POST" else None,
            timeout=self.timeout,
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200:
            detail = data.get("error") if isinstance(data, dict) else None
            raise RuntimeError(
                f"The sandbox's control API at {self.url}{CONTROL_PREFIX}/ answered"
                f" {response.status_code} to {method} {path}: "
                + (str(detail) if detail else "is it served (--control)?")
            )
        return data

    def grant_counts(self) -> collections.Counter[str]:
        """Count the ``grant_type`` values the token endpoint received
        (failed requests too), as
        :meth:`~flask_rocketpunch.sandbox.SandboxProvider.grant_counts`."""
        return collections.Counter(self._call("GET", "counters")["grants"])

    def refused_counts(self) -> collections.Counter[str]:
        """Count, by ``grant_type``, the token requests answered with an
        error."""
        return collections.Counter(self._call("GET", "counters")["refused"])

    def request_counts(self) -> collections.Counter[str]:
        """Count the requests received, by endpoint (``"token"``,
        ``"userinfo"``, ``"authorize"``...)."""
        return collections.Counter(self._call("GET", "counters")["requests"])

    def requests(self, endpoint: str | None = None) -> list[dict[str, t.Any]]:
        """The recorded requests (to ``endpoint``, or all), oldest first, each
        a dict of ``endpoint``, ``method``, ``path``, ``status``, ``params``
        and ``headers``; every secret reads ``"***"``.

        :param endpoint: The endpoint name, e.g. ``"token"``.
        """
        query = "" if endpoint is None else f"?endpoint={endpoint}"
        received: list[dict[str, t.Any]] = self._call("GET", f"requests{query}")[
            "requests"
        ]
        return received

    def faults(self) -> dict[str, t.Any]:
        """The fault switches and their values."""
        switches: dict[str, t.Any] = self._call("GET", "faults")
        return switches

    def set_faults(self, **switches: object) -> dict[str, t.Any]:
        """Set fault switches (:class:`~flask_rocketpunch.sandbox.Faults`
        fields); return them all.

        :raises RuntimeError: an unknown switch or a value of the wrong type.
        """
        result: dict[str, t.Any] = self._call("POST", "faults", switches)
        return result

    @contextlib.contextmanager
    def misbehave(self, **switches: object) -> cabc.Iterator[dict[str, t.Any]]:
        """Turn fault switches on for a ``with`` block, then restore their
        previous values, as :func:`~flask_rocketpunch.testing.misbehave`."""
        before = self.faults()
        current = self.set_faults(**switches)
        try:
            yield current
        finally:
            self.set_faults(**{name: before[name] for name in switches})

    def reset(self) -> None:
        """Forget codes, tokens, recorded requests and rate counters; turn
        every fault off."""
        self._call("POST", "reset", {})

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        name: str = "Example App",
    ) -> None:
        """Register (or replace) a client.

        :param client_id: The client id.
        :param client_secret: Its secret.
        :param redirect_uri: Its redirect URI.
        :param name: The name the consent page shows.
        """
        self._call(
            "POST",
            "clients",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "name": name,
            },
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
