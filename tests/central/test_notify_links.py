import pytest

from central.errors import ActionError
from central.notify import AckLinks, Acknowledgement, email_text, find_reply_code, new_reply_code
from central.notify.messages import SMS_LIMIT, sms_text


def test_links_round_trip_and_reject_forgery() -> None:
    links = AckLinks("https://dv.test/", "secret-" * 4, max_age_s=3600)
    url = links.url("T1")
    assert url.startswith("https://dv.test/ack/")
    assert links.task_of(url.rsplit("/", 1)[1]) == "T1"
    other = AckLinks("https://dv.test", "another-secret-value", 3600)
    with pytest.raises(ActionError, match="not valid"):
        other.task_of(links.token("T1"))


def test_links_expire() -> None:
    links = AckLinks("https://dv.test", "secret-" * 4, max_age_s=-1)
    with pytest.raises(ActionError, match="expired"):
        links.task_of(links.token("T1"))


def test_reply_code_found_in_a_reply_whatever_the_case() -> None:
    code = new_reply_code()
    assert len(code) == 5 and not set(code) & set("01IO")
    assert find_reply_code(f"ok {code.lower()} tack") == code
    assert find_reply_code("ok") is None


def test_sms_is_cut_to_two_segments_and_keeps_the_code() -> None:
    text = sms_text("Ny uppgift", "x" * 1000, Acknowledgement(code="K7QX2"), ["gw-1"])
    assert len(text) == SMS_LIMIT and text.endswith("… Kvittera: svara K7QX2")
    assert text.startswith("Driftvakt: Ny uppgift (gateway gw-1). x")


def test_email_names_homes_link_and_code() -> None:
    subject, body = email_text(
        "S",
        "Rad ett\nRad två",
        Acknowledgement("https://l", "K7QX2"),
        [f"gw-{i}" for i in range(8)],
    )
    assert subject == "[Driftvakt] S"
    assert body.startswith(
        "Gäller 8 hem: gw-0, gw-1, gw-2, gw-3, gw-4, gw-5 m.fl.\n\nRad ett\nRad två"
    )
    assert "Kvittera uppgiften: https://l" in body and "med koden K7QX2" in body
