"""Notifications: channels, Swedish templates, acknowledgement links and codes,
and the outbox worker that sends what the service's decisions wrote."""

from central.notify.channels import (
    Channel,
    ElksSms,
    EmailChannel,
    MqttChannel,
    Outgoing,
    SmsChannel,
    SmsProvider,
    WebhookChannel,
    message_id,
)
from central.notify.links import AckLinks, find_reply_code, new_reply_code
from central.notify.messages import Acknowledgement, email_text, sms_text

__all__ = [
    "AckLinks",
    "Acknowledgement",
    "Channel",
    "ElksSms",
    "EmailChannel",
    "MqttChannel",
    "Outgoing",
    "SmsChannel",
    "SmsProvider",
    "WebhookChannel",
    "email_text",
    "find_reply_code",
    "message_id",
    "new_reply_code",
    "sms_text",
]
