"""The multi-process harness: the sandbox in its own process, the app under
gunicorn, and one browser that fires bursts of concurrent requests at it.

Used by ``tests/test_herd.py`` and ``benchmarks/herd.py``::

    with herd(workdir) as h:
        burst = h.burst(32)
        burst.grants, burst.statuses, burst.logged_in

:func:`herd` starts, in this order and each in a process of its own:

1. :mod:`herd_support.sandbox_process`, the sandbox provider on a free
   ``127.0.0.1`` port, its token endpoint answering after ``token_delay``;
2. one or more gunicorn masters (``-w 4 --threads 4`` by default) serving
   the example app (or :mod:`herd_support.app`), each on a free port with an
   instance folder of its own (so, as on separate hosts, one SQLite
   coordination file each), all with one ``SECRET_KEY`` and the sandbox's
   URLs in ``FLASK_*`` variables, and a ``REFRESH_LEEWAY`` longer than the
   sandbox's tokens live, so every request finds the token due;

then registers the app's client with the sandbox and logs a :class:`Browser`
in through the real flow (login route, consent page answered as a person
would, callback). Every process is stopped by its PID when the ``with``
block ends, however it ends: SIGTERM, then SIGKILL to its process group
after :data:`STOP_TIMEOUT`.

A burst sends N concurrent GETs of a protected page with the browser's
cookie as it is before the burst, each on its own connection, records the
status, body and ``Set-Cookie`` of each answer, applies the cookies in
arrival order, then asks the page once more (is the browser still logged
in?). The refresh grants come from the sandbox's own count.

Nothing here prints or logs a token or a secret. Loops and waits are
bounded; no figure depends on a wall-clock limit.
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import contextlib
import dataclasses
import email.utils
import http.client
import http.cookies
import importlib
import importlib.metadata
import json
import math
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from flask_rocketpunch.testing import consent_form

#: The repository, and its ``tests/`` folder (both on the children's path).
ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

#: The example app, as gunicorn calls it.
EXAMPLE_APP = "example_app:create_app"
#: The example app with fault-injection hooks (:mod:`herd_support.app`).
HOOKED_APP = "herd_support.app:create_app"

CLIENT_ID = "herd-client"
#: The sandbox user the browser logs in as.
USER = "minji"
#: The protected page every burst asks for, as a fetch call would (JSON).
PROTECTED = "/api/me"
LOGIN = "/auth/rocketpunch/login"
CALLBACK = "/auth/rocketpunch/callback"
#: Longer than the sandbox's 900-second access tokens: always due.
REFRESH_LEEWAY = 1000
#: The leeway of the runs whose tokens fall due a few seconds after issue.
SHORT_LEEWAY = 300

#: Seconds one HTTP call may take.
CALL_TIMEOUT = 30.0
#: Seconds a child process has to start (gunicorn: every worker booted).
START_TIMEOUT = 60.0
#: Seconds a child has to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0

#: One access log line: the worker's pid, the status, the path.
ACCESS_FORMAT = "%(p)s %(s)s %(U)s"

_SANDBOX_PORT = re.compile(r'^\{"port": (\d+)\}$', re.MULTILINE)
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_BOOTED = re.compile(r"Booting worker with pid")


# -- processes ------------------------------------------------------------------


class Child:
    """A process this harness started, with its output in a log file.

    It leads a process group of its own (gunicorn's workers belong to it),
    so :meth:`stop` can end all of it, and nothing else, by its id.
    """

    def __init__(
        self,
        name: str,
        argv: cabc.Sequence[str],
        *,
        env: cabc.Mapping[str, str],
        log: Path,
    ) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=ROOT,
                start_new_session=True,
            )

    def output(self) -> str:
        """What the process printed so far."""
        return self.log.read_text(errors="replace")

    def wait_for(
        self, pattern: re.Pattern[str], *, count: int = 1, timeout: float
    ) -> list[re.Match[str]]:
        """Wait until the output matches ``pattern`` ``count`` times.

        :raises RuntimeError: the process ended first, or ``timeout`` passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = list(pattern.finditer(self.output()))
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it"
                    f" was ready; its output is in {self.log}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} was not ready after {timeout:g} s; its output is"
                    f" in {self.log}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM to the process, then SIGKILL to its group after
        :data:`STOP_TIMEOUT`; reaps it, and kills what is left of its group
        (a worker its master did not wait for). Safe to call twice."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # Our group: its id is the pid of the process we started, which
        # cannot be reused while any member of the group is alive.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _child_env(extra: cabc.Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its ``FLASK_*`` variables (a
    developer's own settings must not leak in), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    paths = [str(ROOT), str(TESTS)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _gunicorn_version() -> tuple[int, ...]:
    text = importlib.metadata.version("gunicorn")
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def gunicorn_argv(
    app: str,
    *,
    workers: int,
    threads: int,
    access_log: Path,
) -> list[str]:
    """The gunicorn command line for ``app`` (a factory call) on a free
    ``127.0.0.1`` port, writing which worker answered each request, with
    what status, for which path (never the query: it may hold a code) to
    ``access_log``."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        "127.0.0.1:0",
        "--graceful-timeout",
        "5",
        "--log-level",
        "info",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        ACCESS_FORMAT,
    ]
    if _gunicorn_version() >= (25, 1):
        # From 25.1 each master opens a control socket at one path per user:
        # two masters, or two test runs at once, would fight over it.
        argv.append("--no-control-socket")
    return [*argv, app]


def factory_call(app: str, **kwargs: object) -> str:
    """``app(kw=value, ...)`` as gunicorn reads it (literal arguments)."""
    args = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return f"{app}({args})"


# -- HTTP -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    """One HTTP exchange as the browser saw it."""

    #: The status, or ``None`` when no answer came (the connection was
    #: closed or reset: the worker died).
    status: int | None
    location: str | None = None
    set_cookies: tuple[str, ...] = ()
    body: bytes = b""
    #: Why no answer came (the exception's type), else ``None``.
    error: str | None = None
    #: Seconds from sending to the whole answer (monotonic clock).
    elapsed: float = 0.0

    @property
    def label(self) -> str:
        """The status as text, ``"no answer"`` without one."""
        return str(self.status) if self.status is not None else "no answer"

    def json(self) -> t.Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def exchange(
    method: str,
    url: str,
    *,
    headers: cabc.Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = CALL_TIMEOUT,
) -> Answer:
    """One request on a new connection to ``127.0.0.1``; never follows a
    redirect. A connection that fails to answer gives ``status=None``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise ValueError("The harness only talks to http://127.0.0.1.")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return Answer(
            None, error=type(exc).__name__, elapsed=time.monotonic() - started
        )
    finally:
        conn.close()
    return Answer(
        response.status,
        location=response.getheader("Location"),
        set_cookies=tuple(response.msg.get_all("Set-Cookie") or ()),
        body=data,
        elapsed=time.monotonic() - started,
    )


def _call_json(method: str, url: str, payload: object = None) -> t.Any:
    body = None if payload is None else json.dumps(payload).encode()
    answer = exchange(
        method, url, body=body, headers={"Content-Type": "application/json"}
    )
    if answer.status != 200:
        raise RuntimeError(f"{method} {url} answered {answer.label}: {answer.text}")
    return answer.json()


# -- the sandbox ----------------------------------------------------------------


class Sandbox:
    """The sandbox process, through its provider endpoints and its
    test-control routes (see :mod:`herd_support.sandbox_process`)."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.url = f"http://127.0.0.1:{port}"

    def grants(self) -> collections.Counter[str]:
        """How many requests of each grant type the token endpoint got."""
        data = _call_json("GET", f"{self.url}/_herd/grants")
        return collections.Counter(data["grants"])

    def refresh_counts(self) -> tuple[int, int]:
        """How many refresh grants the token endpoint got, and how many of
        them it refused (``invalid_grant``: a refresh token used twice)."""
        data = _call_json("GET", f"{self.url}/_herd/grants")
        made = int(data["grants"].get("refresh_token", 0))
        refused = int(data["refused"].get("refresh_token", 0))
        return made, refused

    def register_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        payload = {
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uri": redirect_uri,
        }
        _call_json("POST", f"{self.url}/_herd/client", payload)

    def faults(self, **switches: object) -> dict[str, t.Any]:
        """Set fault switches (``token_delay=2.5``,
        ``refresh_invalid_grant=True``...); returns them all."""
        result: dict[str, t.Any] = _call_json(
            "POST", f"{self.url}/_herd/faults", switches
        )
        return result

    def reset(self) -> None:
        """Forget tokens and recorded requests; faults as at start."""
        _call_json("POST", f"{self.url}/_herd/reset", {})


@contextlib.contextmanager
def sandbox_process(
    workdir: Path, *, token_delay: float, token_ttl: int | None = None
) -> cabc.Iterator[Sandbox]:
    """The sandbox in its own process, for the duration of the block."""
    ttl = [] if token_ttl is None else ["--access-token-ttl", str(token_ttl)]
    child = Child(
        "the sandbox process",
        [
            sys.executable,
            "-m",
            "herd_support.sandbox_process",
            "--token-delay",
            str(token_delay),
            *ttl,
        ],
        env=_child_env({}),
        log=workdir / "sandbox.log",
    )
    try:
        found = child.wait_for(_SANDBOX_PORT, timeout=START_TIMEOUT)
        yield Sandbox(child, int(found[0].group(1)))
    finally:
        child.stop()


# -- gunicorn -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Server:
    """One gunicorn master and its workers."""

    child: Child
    url: str
    instance_path: Path
    #: One line per answered request (:data:`ACCESS_FORMAT`).
    access_log: Path

    def access_offset(self) -> int:
        """Where the access log ends now."""
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def workers_since(self, offset: int, path: str = PROTECTED) -> set[int]:
        """The worker processes that answered ``path`` since ``offset``."""
        with self.access_log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        pids = set()
        for line in lines:
            fields = line.split()
            if len(fields) == 3 and fields[2] == path:
                pids.add(int(fields[0].strip("<>")))
        return pids


@contextlib.contextmanager
def gunicorn(
    workdir: Path,
    name: str,
    *,
    app: str,
    app_kwargs: cabc.Mapping[str, object],
    env: cabc.Mapping[str, str],
    workers: int,
    threads: int,
) -> cabc.Iterator[Server]:
    """A gunicorn master serving ``app`` until the block ends, once its
    ``workers`` have booted and it answers ``/``."""
    instance_path = workdir / f"{name}-instance"
    instance_path.mkdir()
    spec = factory_call(app, instance_path=str(instance_path), **app_kwargs)
    access_log = workdir / f"{name}-access.log"
    child = Child(
        f"gunicorn {name}",
        gunicorn_argv(spec, workers=workers, threads=threads, access_log=access_log),
        env=_child_env(env),
        log=workdir / f"{name}.log",
    )
    try:
        found = child.wait_for(_LISTENING, timeout=START_TIMEOUT)
        child.wait_for(_BOOTED, count=workers, timeout=START_TIMEOUT)
        url = f"http://127.0.0.1:{found[0].group(1)}"
        server = Server(child, url, instance_path, access_log)
        _wait_until_answering(server)
        yield server
    finally:
        child.stop()


def _wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        answer = exchange("GET", f"{server.url}/", timeout=5.0)
        if answer.status == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.child.name} does not answer / ({answer.label}); its"
                f" output is in {server.child.log}"
            )
        time.sleep(0.1)


# -- the browser ----------------------------------------------------------------


class Browser:
    """One browser's cookies for ``127.0.0.1`` (shared by every port, as
    browsers share them), sent with each request and updated from each
    answer's ``Set-Cookie``."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def headers(self, accept: str = "text/html") -> dict[str, str]:
        headers = {"Accept": accept}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        return headers

    def apply(self, answer: Answer) -> None:
        """Keep the cookies ``answer`` sets; drop those it expires."""
        for header in answer.set_cookies:
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if _expired(morsel):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, url: str, *, accept: str = "text/html") -> Answer:
        answer = exchange("GET", url, headers=self.headers(accept))
        self.apply(answer)
        return answer

    def post_form(self, url: str, fields: cabc.Mapping[str, str]) -> Answer:
        headers = self.headers()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = exchange("POST", url, headers=headers, body=urlencode(fields).encode())
        self.apply(answer)
        return answer

    def log_in(self, app_url: str, user: str = USER) -> None:
        """The real flow: the app's login route, the sandbox's consent page
        answered as a person would (choose ``user``, Approve), the callback.

        :raises AssertionError: a step did not answer as expected.
        """
        start = self.get(f"{app_url}{LOGIN}?{urlencode({'next': PROTECTED})}")
        assert start.status == 302, f"login: {start.label}"
        assert start.location
        page = self.get(start.location)
        assert page.status == 200, f"consent page: {page.label}"
        action, fields = consent_form(page.text, "")
        fields.update(decision="approve", user=user)
        decided = self.post_form(urljoin(start.location, action), fields)
        assert decided.status == 302, f"consent: {decided.label}: {decided.text[:300]}"
        assert decided.location
        back = self.get(urljoin(start.location, decided.location))
        assert back.status == 302, f"callback: {back.label}: {back.text[:300]}"

    def protected(self, url: str) -> Answer:
        """The protected page, as the next request of this browser."""
        return self.get(url, accept="application/json")


def _expired(morsel: http.cookies.Morsel[str]) -> bool:
    max_age = morsel["max-age"]
    if max_age:
        return int(max_age) <= 0
    expires = morsel["expires"]
    if expires:
        when = email.utils.parsedate_to_datetime(expires)
        return when.timestamp() <= time.time()
    return False


# -- bursts ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Burst:
    """What one burst did."""

    #: The answers, in arrival order.
    answers: tuple[Answer, ...]
    #: Refresh grants the provider received during the burst.
    grants: int
    #: Of those, how many it refused.
    refused: int
    #: The next protected request after the burst, cookies applied.
    probe: Answer
    #: Refresh grants that request made (it finds the token due too).
    probe_grants: int
    #: Of those, how many the provider refused.
    probe_refused: int
    #: Seconds from the start of the burst to its last answer.
    duration: float
    #: How many worker processes answered the burst (all masters).
    workers: int

    @property
    def statuses(self) -> collections.Counter[str]:
        """How many answers of each status (``"no answer"`` included)."""
        return collections.Counter(answer.label for answer in self.answers)

    @property
    def failures(self) -> int:
        """Answers other than 200, missing answers included."""
        return sum(answer.status != 200 for answer in self.answers)

    @property
    def logged_in(self) -> bool:
        """Whether the browser is still logged in: the next protected
        request answered 200 with the user's claims."""
        return self.probe.status == 200 and _is_user(self.probe)

    @property
    def wrong_users(self) -> int:
        """200 answers that do not carry the browser's user."""
        return sum(
            answer.status == 200 and not _is_user(answer) for answer in self.answers
        )

    def summary(self) -> str:
        statuses = ", ".join(
            f"{count} x {label}" for label, count in sorted(self.statuses.items())
        )
        return (
            f"{self.grants} refresh grant(s) ({self.refused} refused); {statuses}"
            f" from {self.workers} worker process(es);"
            f" {'logged in' if self.logged_in else 'logged out'}"
            f" (next request {self.probe.label})"
        )


def _is_user(answer: Answer) -> bool:
    try:
        claims = answer.json()
    except ValueError:
        return False
    return isinstance(claims, dict) and claims.get("preferred_username") == USER


def fire(browser: Browser, urls: cabc.Sequence[str]) -> tuple[list[Answer], float]:
    """GET every URL at once, each on its own connection in its own thread,
    all with the browser's cookies as they are now; then apply the answers'
    cookies in arrival order. Returns the answers in arrival order and the
    seconds from the start to the last answer."""
    headers = browser.headers(accept="application/json")
    arrived: list[Answer] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(urls) + 1, timeout=CALL_TIMEOUT)

    def one(url: str) -> None:
        ready.wait()
        answer = exchange("GET", url, headers=headers)
        with lock:
            arrived.append(answer)

    threads = [
        threading.Thread(target=one, args=(url,), daemon=True, name=f"burst-{n}")
        for n, url in enumerate(urls)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.monotonic()
    deadline = started + CALL_TIMEOUT + 5
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    duration = time.monotonic() - started
    with lock:
        answers = list(arrived)
    if len(answers) != len(urls):
        raise RuntimeError(f"{len(urls) - len(answers)} requests never finished")
    for answer in answers:
        browser.apply(answer)
    return answers, duration


# -- the whole setup ------------------------------------------------------------


@dataclasses.dataclass
class Herd:
    """The running setup: the sandbox, the gunicorn masters, a logged-in
    browser."""

    sandbox: Sandbox
    servers: list[Server]
    browser: Browser
    #: Seconds to wait before a burst for the token to fall due, when tokens
    #: are issued just longer than the leeway (server-side storages).
    due_after: float = 0.0

    def urls(self, size: int, path: str = PROTECTED) -> list[str]:
        """``size`` URLs of ``path``, spread over the masters in turn."""
        return [f"{self.servers[n % len(self.servers)].url}{path}" for n in range(size)]

    def burst(self, size: int) -> Burst:
        """One burst of ``size`` concurrent requests, then the next request."""
        time.sleep(self.due_after)
        made, refused = self.sandbox.refresh_counts()
        offsets = [server.access_offset() for server in self.servers]
        answers, duration = fire(self.browser, self.urls(size))
        made_burst, refused_burst = self.sandbox.refresh_counts()
        workers = sum(
            len(server.workers_since(offset))
            for server, offset in zip(self.servers, offsets, strict=True)
        )
        probe = self.browser.protected(f"{self.servers[0].url}{PROTECTED}")
        made_probe, refused_probe = self.sandbox.refresh_counts()
        return Burst(
            answers=tuple(answers),
            grants=made_burst - made,
            refused=refused_burst - refused,
            probe=probe,
            probe_grants=made_probe - made_burst,
            probe_refused=refused_probe - refused_burst,
            duration=duration,
            workers=workers,
        )


@contextlib.contextmanager
def herd(
    workdir: Path,
    *,
    storage_url: str | None = None,
    masters: int = 1,
    workers: int = 4,
    threads: int = 4,
    token_delay: float = 0.2,
    app: str = EXAMPLE_APP,
    app_kwargs: cabc.Mapping[str, object] | None = None,
    env: cabc.Mapping[str, str] | None = None,
    due_in: int | None = None,
) -> cabc.Iterator[Herd]:
    """Start the sandbox and ``masters`` gunicorn masters, log a browser in
    on the first, and stop everything when the block ends.

    :param workdir: an empty folder for logs and instance folders.
    :param storage_url: ``ROCKETPUNCH_STORAGE_URL``, shared by the masters;
        ``None`` for the cookie storage.
    :param token_delay: seconds the sandbox's token endpoint waits.
    :param app: the app factory gunicorn calls (:data:`EXAMPLE_APP` or
        :data:`HOOKED_APP`); it gets ``instance_path`` and ``app_kwargs``.
    :param env: more environment variables for the masters (``FLASK_*``).
    :param due_in: make every token fall due this many seconds after it is
        issued (its life is the leeway plus this), and wait that long before
        each burst. Without it the leeway outlives the tokens, so every
        request finds its token due: right for the cookie storage, where a
        burst's requests all carry the token of the browser's cookie, but a
        server-side storage hands later requests the token just refreshed,
        which must not be due again at once.
    """
    secret = secrets.token_urlsafe(24)
    with contextlib.ExitStack() as stack:
        leeway = REFRESH_LEEWAY if due_in is None else SHORT_LEEWAY
        sandbox = stack.enter_context(
            sandbox_process(
                workdir,
                token_delay=token_delay,
                token_ttl=None if due_in is None else leeway + due_in,
            )
        )
        app_env = {
            "FLASK_SECRET_KEY": f"herd-{secrets.token_urlsafe(32)}",
            "FLASK_ROCKETPUNCH_CLIENT_ID": CLIENT_ID,
            "FLASK_ROCKETPUNCH_CLIENT_SECRET": secret,
            "FLASK_ROCKETPUNCH_AUTHORIZE_URL": f"{sandbox.url}/oauth/authorize",
            "FLASK_ROCKETPUNCH_TOKEN_URL": f"{sandbox.url}/oauth/token",
            "FLASK_ROCKETPUNCH_REVOKE_URL": f"{sandbox.url}/oauth/revoke",
            "FLASK_ROCKETPUNCH_USERINFO_URL": f"{sandbox.url}/oauth/userinfo",
            "FLASK_ROCKETPUNCH_API_BASE_URL": f"{sandbox.url}/api/v1/",
            "FLASK_ROCKETPUNCH_REFRESH_LEEWAY": str(leeway),
            **({"FLASK_ROCKETPUNCH_STORAGE_URL": storage_url} if storage_url else {}),
            **(env or {}),
        }
        servers = [
            stack.enter_context(
                gunicorn(
                    workdir,
                    f"master{n + 1}",
                    app=app,
                    app_kwargs=app_kwargs or {},
                    env=app_env,
                    workers=workers,
                    threads=threads,
                )
            )
            for n in range(masters)
        ]
        sandbox.register_client(CLIENT_ID, secret, f"{servers[0].url}{CALLBACK}")
        browser = Browser()
        browser.log_in(servers[0].url)
        wait = 0.0 if due_in is None else due_in + 0.2
        yield Herd(sandbox, servers, browser, due_after=wait)


# -- server-side storages -------------------------------------------------------

#: The server-side storages: a name, the variable holding the server's URL,
#: and the back end's module.
SERVER_SIDE = (
    ("redis", "REDIS_URL", "flask_rocketpunch.storage.redis"),
    ("postgresql", "DATABASE_URL", "flask_rocketpunch.storage.sqlalchemy"),
)


class Unavailable(Exception):
    """A server-side storage cannot run here; the message says why."""

    def __init__(self, message: str, *, url_missing: bool) -> None:
        super().__init__(message)
        #: The back end is there, but no server URL is set.
        self.url_missing = url_missing


def server_side_url(variable: str, module: str) -> str:
    """The storage URL in ``variable``.

    :raises Unavailable: ``module`` cannot be imported (the back end or its
        driver is not installed), or ``variable`` is not set.
    """
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(
            f"{module} cannot be imported ({exc})", url_missing=False
        ) from None
    url = os.environ.get(variable)
    if not url:
        raise Unavailable(
            f"{variable} is not set: point it at a server to run this storage",
            url_missing=True,
        )
    return url


# -- figures --------------------------------------------------------------------


def percentile(values: cabc.Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def latencies(bursts: cabc.Iterable[Burst]) -> tuple[float, float]:
    """Median and 99th percentile of the requests' seconds over ``bursts``."""
    values = [answer.elapsed for burst in bursts for answer in burst.answers]
    return statistics.median(values), percentile(values, 0.99)
