"""One package per dataset: its upstream format, its paths and its rules. No Dagster here."""
