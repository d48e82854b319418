"""Edge pollers: read-only protocol clients (Modbus TCP, SNMP, BACnet/IP) that turn registry points into samples.

Each poller reads a device's points and returns one `Sample` per point per poll — a failed read is a
BAD sample, never a missing one. None of them can write to a device (see `base.ReadOnly`).
"""
