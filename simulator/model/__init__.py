"""The physics of one block, stepped in simulated time (pure computation, no I/O)."""
