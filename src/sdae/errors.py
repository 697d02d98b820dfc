"""The one exception type for a user's mistake."""


class SdaeError(Exception):
    """A user's mistake: the message says what is wrong and how to fix it, on one line.

    The CLI prints it as ``sdae: error: <message>`` and exits with status 2. Any other
    exception is a bug in sdae and keeps its traceback.
    """
