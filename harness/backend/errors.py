"""Errors of the back end.

Both are :class:`harness.errors.InputError`: the user gave a file the back end
cannot use. The message always names the file and, where it applies, the line
(feeds) or the group and rule (security-group files).
"""

from __future__ import annotations

from harness.errors import InputError


class FeedError(InputError):
    """A threat-intelligence feed (or its config) is malformed.

    ``path`` and ``line`` (1-based, or None when the error is not about one
    line) are kept as attributes for callers that want them separately.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.reason = message


class GroupsError(InputError):
    """A security-group file or device registry is invalid.

    ``path``, ``group`` and ``rule`` name where the problem is (None when it is
    not about one group or rule).
    """

    def __init__(self, message: str, path: str | None = None, group: str | None = None,
                 rule: str | None = None):
        parts = []
        if path is not None:
            parts.append(str(path))
        if group is not None:
            parts.append(f"group {group!r}")
        if rule is not None:
            parts.append(f"rule {rule}")
        where = ": ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.group = group
        self.rule = rule
        self.reason = message
