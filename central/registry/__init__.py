"""The registry of homes and its CSV import (docs/registry.md)."""

from central.registry.csv_import import COLUMNS, ImportResult, load_registry, read_registry_csv
from central.registry.models import Home, Registry

__all__ = ["COLUMNS", "Home", "ImportResult", "Registry", "load_registry", "read_registry_csv"]
