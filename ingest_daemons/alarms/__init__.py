"""The live alarm engine (`mcs alarms run`), history replay, notifications and the `mcs alarms` CLI."""
