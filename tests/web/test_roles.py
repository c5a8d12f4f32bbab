import re
from pathlib import Path

from central.web.roles import GRANTS, ROLES, Perm, allows, roles_with

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def test_roles_docs_table_is_the_grants_table() -> None:
    documented = {}
    for line in DOC.read_text().splitlines():
        found = re.match(r"^\| `([a-z_]+)` \| [^|]+ \|(.*)\|$", line)
        if found and found.group(1) in {p.value for p in Perm}:
            documented[found.group(1)] = [c.strip() == "x" for c in found.group(2).split("|")]
    actual = {p.value: [p in GRANTS[r] for r in ROLES] for p in Perm}
    assert documented == actual


def test_roles_technical_roles_never_see_labels() -> None:
    assert not allows("operator", Perm.LABELS)
    assert not allows("it_funktion", Perm.LABELS)
    assert roles_with(Perm.VISIT_DONE) == ("admin", "nattpatrullen", "jour")
    assert not allows("no-such-role", Perm.FLEET)
