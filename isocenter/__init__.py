"""Isocenter: a FHIR R4 API platform for an oncology EHR."""

__version__ = "0.1.0"
