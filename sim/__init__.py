"""Simulated homes: fake router and camera on mock relay pins, fleets, the demo."""
