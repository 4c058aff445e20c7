"""FHIR search: parameter registry, indexing of resources, query parsing and SQL building."""
