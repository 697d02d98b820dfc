"""The one exception type for a user's mistake."""

from __future__ import annotations


class SdaeError(Exception):
    """A user's mistake: the message says what is wrong and how to fix it, on one line.

    The CLI prints it as ``sdae: error: <message>`` and exits with status 2. Any other
    exception is a bug in sdae and keeps its traceback.
    """


class SettingError(SdaeError):
    """A bad value of one setting. The message names the setting by ``{name}``: the field's
    name (``lr``), until whoever knows what the user typed renames it, to a flag (``--lr``,
    ``--pretrain-lr``) on the command line or a parameter in :mod:`sdae.sklearn`, with
    :meth:`renamed`. So a check is written once, where the setting is defined, and its
    message still names what the user gave.
    """

    def __init__(self, field: str, template: str, name: str | None = None) -> None:
        self.field, self.template, self.name = field, template, name or field
        super().__init__(template.format(name=self.name))

    def renamed(self, names: dict[str, str]) -> SettingError:
        """The same error naming ``names[field]`` (unchanged if ``field`` is not there)."""
        return SettingError(self.field, self.template, names.get(self.field, self.name))
