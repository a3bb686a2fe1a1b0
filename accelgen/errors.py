"""User-facing errors. The CLI prints ``str(err)`` as one line and exits with ``err.exit_code``."""


class AccelgenError(Exception):
    """Base class of errors caused by the user's input; never shown with a traceback."""

    exit_code = 2


class InputError(AccelgenError):
    """Bad input: missing or corrupt file, unsupported model structure, bad option value."""

    exit_code = 2


class InfeasibleError(AccelgenError):
    """The requested target (e.g. an FPS goal) cannot be met on the chosen board."""

    exit_code = 3


class VerificationError(AccelgenError):
    """Two simulation levels disagree (C-sim or RTL versus the NumPy golden model)."""

    exit_code = 1
