"""Errors a user can act on. The CLI prints them without a traceback."""


class UserError(Exception):
    """A problem with the user's input (a file, a flag) that the message tells them how to fix."""
