"""``python -m flask_rocketpunch.sandbox``: serve the sandbox in this process
(the same as ``flask rocketpunch sandbox``)."""

from __future__ import annotations

from .command import main

if __name__ == "__main__":
    main()
