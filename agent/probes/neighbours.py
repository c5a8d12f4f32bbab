"""Finding a device by MAC address through the kernel's neighbour table.

After a router restart, DHCP may give the camera another address; probing
the old one would find nothing (or another device) and cycle a healthy
camera, which is a defect. A target named by MAC is looked up in
``/proc/net/arp`` (or ``ip neigh``) before every probe. The table holds only
hosts the gateway has exchanged packets with recently, so a target may also
give ``host``, its last known address: probing that puts it in the table, and
the agent remembers the last address each MAC was seen at.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

IP_NEIGH = "ip-neigh"
_EMPTY_MAC = "00:00:00:00:00:00"


def parse_proc_arp(text: str) -> dict[str, str]:
    """MAC to IPv4 address from ``/proc/net/arp`` text; incomplete entries are left out."""
    table: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or parts[2] == "0x0" or parts[3] == _EMPTY_MAC:
            continue
        table[parts[3].lower()] = parts[0]
    return table


def parse_ip_neigh(text: str) -> dict[str, str]:
    """MAC to address from ``ip neigh show`` text; failed and incomplete entries are left out."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if "lladdr" not in parts or parts[-1] in ("FAILED", "INCOMPLETE"):
            continue
        table[parts[parts.index("lladdr") + 1].lower()] = parts[0]
    return table


@dataclass
class NeighbourTable:
    """Reads the neighbour table and remembers where each MAC was last seen.

    :param source: a file in ``/proc/net/arp`` format, or ``ip-neigh`` to run ``ip -4 neigh show``.
    """

    source: str = "/proc/net/arp"
    last_seen: dict[str, str] = field(default_factory=dict)

    def read(self) -> dict[str, str]:
        """The current table (empty if it cannot be read)."""
        try:
            if self.source == IP_NEIGH:
                out = subprocess.run(
                    ["ip", "-4", "neigh", "show"],
                    capture_output=True,
                    text=True,
                    timeout=2,
                    check=True,
                ).stdout
                return parse_ip_neigh(out)
            return parse_proc_arp(Path(self.source).read_text())
        except (OSError, subprocess.SubprocessError):
            return {}

    def resolve(self, mac: str, hint: str | None) -> tuple[str | None, str]:
        """The address to probe for ``mac``, and how it was found.

        The table wins; then the last address seen; then ``hint``, unless the
        table says that address now belongs to another MAC.
        """
        table = self.read()
        if mac in table:
            self.last_seen[mac] = table[mac]
            return table[mac], "neighbour table"
        for candidate, how in ((self.last_seen.get(mac), "last seen"), (hint, "configured host")):
            if candidate is None:
                continue
            owner = next((m for m, a in table.items() if a == candidate), None)
            if owner is None:
                return candidate, how
        return None, f"{mac} not in the neighbour table ({self.source})"
