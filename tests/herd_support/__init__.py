"""Support for the multi-process ("herd") tests and benchmark: the sandbox
provider in a process of its own, the app under gunicorn, and a browser that
fires bursts of concurrent requests at it.

:mod:`.harness` is the one entry point; :mod:`.sandbox_process` and
:mod:`.app` run in the child processes it starts.
"""
