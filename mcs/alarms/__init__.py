"""ISA-18.2 alarms: the pure state model (`state_machine`), suppression rules (`rules`), the processor
that runs evaluation over a store (`processor`), the PostgreSQL store (`store`) and the operator
actions used by the CLI and the app (`actions`). The daemon lives in ingest_daemons/alarms."""
