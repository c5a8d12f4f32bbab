"""Edge agent on the home gateway: probes, relay, restart budget, MQTT link."""
