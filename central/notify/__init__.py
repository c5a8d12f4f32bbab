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
from central.notify.templates import Notice, Rendered, local, render

__all__ = [
    "AckLinks",
    "Channel",
    "ElksSms",
    "EmailChannel",
    "MqttChannel",
    "Notice",
    "Outgoing",
    "Rendered",
    "SmsChannel",
    "SmsProvider",
    "WebhookChannel",
    "find_reply_code",
    "local",
    "message_id",
    "new_reply_code",
    "render",
]
