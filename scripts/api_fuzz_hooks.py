"""Schemathesis hooks for scripts/api-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

`POST /api/v1/inbound-mail` takes a raw RFC 822 message (`message/rfc822`), which Schemathesis
has no serializer for: generated text is sent as the message's bytes, as `text/plain` is.
"""
import schemathesis

schemathesis.serializer.alias("message/rfc822", "text/plain")
