"""The SMART on FHIR authorization server and the guard in front of the FHIR routes.

Scopes (``scopes``), signing keys and tokens (``keys``, ``tokens``, ``revocation``),
registered apps and users (``clients``, ``users``), OAuth errors (``errors``), discovery,
introspection and revocation endpoints, and the guard middleware (``guard``).
"""
