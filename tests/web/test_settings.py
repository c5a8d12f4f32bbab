import pytest

from central.config import parse_config
from central.errors import ConfigError


def _config(**web: object) -> dict[str, object]:
    return {"tenants": ["botkyrka"], "links": {"secret": "x" * 32}, "web": web}


def test_settings_web_section_defaults_and_values() -> None:
    config = parse_config(_config(port=9090, cookie_secure="always"))
    assert (config.web.host, config.web.port, config.web.cookie_secure) == (
        "127.0.0.1",
        9090,
        "always",
    )
    assert parse_config(_config()).web.enabled is True


@pytest.mark.parametrize(
    ("web", "text"),
    [
        ({"prot": 80}, "web.prot: unknown key (got 80)"),
        ({"port": 70000}, "web.port: Input should be less than or equal to 65535 (got 70000)"),
        ({"cookie_secure": "yes"}, "web.cookie_secure: Input should be 'auto' or 'always'"),
        ({"metrics_token": "short"}, "metrics_token must be at least 16 characters"),
        ({"secret_file": "/nonexistent/web-secret"}, "cannot read secret_file"),
    ],
)
def test_settings_web_errors_name_the_key(web: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(**web), "central.toml")
    assert text in str(err.value)
