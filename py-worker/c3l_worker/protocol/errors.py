class ProtocolError(Exception):
    """A frame the receiver cannot accept; `code` is a key of schema.json's protocol_errors."""

    def __init__(self, code: str, message: str, msg_id: str | None = None, msg_type: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message
        self.msg_id = msg_id
        self.msg_type = msg_type
