"""Storage: resource tables, version history, search index tables, compartments."""
