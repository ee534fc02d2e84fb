from . import op


@op("shutdown")
def shutdown(content: dict, state) -> dict:
    state.stop_requested = True  # the server replies first, then leaves its loop
    return {}
