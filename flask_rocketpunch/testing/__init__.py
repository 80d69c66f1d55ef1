"""A testing kit for apps that use flask-rocketpunch: a pytest plugin and
helpers, so that test suites log users in and exercise their OAuth code
paths against the sandbox instead of mocking the extension.

Installed with the package, the ``rocketpunch`` pytest plugin (entry point
``pytest11``) provides the fixtures :func:`rocketpunch_provider`,
:func:`rocketpunch_server` and :func:`rocketpunch_config`. It defines no
autouse fixture and no hook: a suite that does not ask for them is
unaffected. The helpers are plain functions, importable without pytest::

    from flask_rocketpunch.testing import login_as, misbehave, sandbox_of

.. versionadded:: 0.1
"""

from __future__ import annotations

from .consent import answer_consent as answer_consent
from .consent import consent_form as consent_form
from .helpers import complete_login as complete_login
from .helpers import last_request as last_request
from .helpers import login_as as login_as
from .helpers import logout as logout
from .helpers import misbehave as misbehave
from .helpers import register_app as register_app
from .helpers import sandbox_of as sandbox_of
from .helpers import store_token as store_token
from .remote import RemoteSandbox as RemoteSandbox

__all__ = [
    "RemoteSandbox",
    "answer_consent",
    "complete_login",
    "consent_form",
    "last_request",
    "login_as",
    "logout",
    "misbehave",
    "register_app",
    "sandbox_of",
    "store_token",
]

try:
    import pytest  # noqa: F401
except ImportError:  # pragma: no cover - the helpers work without pytest
    pass
else:
    from .fixtures import rocketpunch_config as rocketpunch_config
    from .fixtures import rocketpunch_provider as rocketpunch_provider
    from .fixtures import rocketpunch_server as rocketpunch_server

    __all__ += ["rocketpunch_config", "rocketpunch_provider", "rocketpunch_server"]
