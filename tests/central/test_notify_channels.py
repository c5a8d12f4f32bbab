import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.config import SmsConfig, SmtpConfig, WebhookConfig
from central.errors import DeliveryError
from central.notify import ElksSms, EmailChannel, Outgoing, SmsChannel, WebhookChannel, message_id
from tests.central.servers import SmsSink, SmtpSink, free_port, self_signed

MSG = Outgoing(
    key="I1:T1:task_created:email:a@x.se",
    tenant="botkyrka",
    recipient="a@x.se",
    subject="[Driftvakt] Kamera ur funktion",
    body="Hej åäö",
    incident_id="I1",
)


@pytest.fixture
def sms() -> Iterator[SmsSink]:
    sink = SmsSink().start()
    yield sink
    sink.stop()


def test_email_plain_delivers_with_stable_message_id() -> None:
    sink = SmtpSink().start()
    try:
        EmailChannel(SmtpConfig(host="127.0.0.1", port=sink.port, security="none")).send(MSG)
    finally:
        sink.stop()
    (mail,) = sink.messages
    assert mail["Message-ID"] == message_id(MSG.key)
    assert mail["Subject"] == "[Driftvakt] Kamera ur funktion"
    assert mail.get_payload(decode=True).decode().strip() == "Hej åäö"  # type: ignore[union-attr]


def test_email_starttls_with_auth(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    sink = SmtpSink(users={"driftvakt": "hemligt"}).start(tls=server_tls)
    config = SmtpConfig(
        host="localhost",
        port=sink.port,
        security="starttls",
        username="driftvakt",
        password="hemligt",
    )
    try:
        EmailChannel(config, client_tls).send(MSG)
    finally:
        sink.stop()
    assert len(sink.messages) == 1


def test_email_server_down_is_a_transient_failure() -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout_s=2)
    with pytest.raises(DeliveryError) as err:
        EmailChannel(config).send(MSG)
    assert not err.value.permanent


def test_sms_posts_elks_form_with_basic_auth_and_key(sms: SmsSink) -> None:
    config = SmsConfig(
        url=sms.url, username=sms.user or "", password=sms.password, sender="Driftvakt"
    )
    SmsChannel(ElksSms(config)).send(MSG)
    (post,) = sms.posts
    assert post["from"] == "Driftvakt" and post["to"] == "a@x.se" and post["message"] == "Hej åäö"
    assert post["_key"] == MSG.key


def test_sms_wrong_password_is_permanent_server_error_is_not(sms: SmsSink) -> None:
    with pytest.raises(DeliveryError) as err:
        SmsChannel(ElksSms(SmsConfig(url=sms.url, username=sms.user or "", password="x"))).send(MSG)
    assert err.value.permanent and "401" in str(err.value)
    sms.status = 503
    with pytest.raises(DeliveryError) as err:
        SmsChannel(
            ElksSms(SmsConfig(url=sms.url, username=sms.user or "", password=sms.password))
        ).send(MSG)
    assert not err.value.permanent


def test_webhook_posts_json_with_key(sms: SmsSink) -> None:
    sms.user = None  # the webhook sends no credentials
    WebhookChannel(WebhookConfig(url=sms.url)).send(MSG)
    (post,) = sms.posts
    assert post["_key"] == MSG.key
    assert post["_json"]["incident"] == "I1" and post["_json"]["text"] == "Hej åäö"
