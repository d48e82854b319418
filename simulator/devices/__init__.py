"""Protocol device servers on loopback: Modbus TCP, SNMP agents, the host BMS on BACnet/IP."""
