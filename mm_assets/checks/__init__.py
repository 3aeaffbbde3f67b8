"""Asset checks: the invariants later steps rely on."""
