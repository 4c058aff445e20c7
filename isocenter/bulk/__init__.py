"""FHIR Bulk Data Access 2.0 export (https://hl7.org/fhir/uv/bulkdata/export.html)."""
