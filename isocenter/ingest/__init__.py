"""Loading data: transaction, batch and collection Bundles, NDJSON, the demo cohort."""
