"""Exports for auditors: incidents as CSV, JSON lines and a PDF report, with their snapshots and
a signed manifest (`run.export_incidents`), and the offline check of an export
(`verify.verify_export`, which imports only the standard library and `cryptography`).

Nothing is imported here, so `nightwatch verify` loads `console.export.verify` alone.
"""
