"""The ``chatwoot-audit`` command line, behind :func:`chatwoot_audit.cli.main`.

One idea a module: ``_exits`` (exit codes, one-line messages), ``_times`` and ``_filters`` (what the flags
mean; pure), ``_formats`` (bytes for each output format; pure), ``_resume`` (the state beside an
interrupted export and reading an output back; pure), ``_files`` (appending whole records, atomic
replacement), ``_connect`` (settings from flags and environment, the HTTP client), ``_logs`` (stderr,
with the token blanked), ``_signals``, ``_progress``, ``_export``, ``_follow``, ``_demo`` and ``_parser``.
"""
