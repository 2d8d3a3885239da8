"""Application services: pull, stage, map, batch, post, settle, write back, reference data, the scheduler
and the SyncService the CLI and the window drive. They talk to the connectors; no Qt, no wire format."""
