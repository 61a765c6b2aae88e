"""The GitHub repository a build or a Colab copy is for (standard library only).

Shared by ``publishing.py`` (the site's buttons, inside Sphinx) and
``colab.py`` (the Colab copies, run by the publishing workflow without the
course's environment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

REPOSITORY_VARIABLES = ("KLCOURSE_REPOSITORY", "GITHUB_REPOSITORY")
BRANCH_VARIABLE = "KLCOURSE_BRANCH"
DEFAULT_BRANCH = "main"
GITHUB = "https://github.com"

# GitHub's rules: an owner is letters, digits and single hyphens; a
# repository's name is letters, digits, '.', '_' and '-' (not '.' or '..').
_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*")
_NAME = re.compile(r"[A-Za-z0-9._-]+")
# A branch name as git accepts it, restricted to characters that need no
# escaping in a URL's path.
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9._-]+)*")


@dataclass(frozen=True)
class Repository:
    """A GitHub repository and the branch that the pages' links point into."""

    owner: str
    name: str
    branch: str = DEFAULT_BRANCH

    @property
    def url(self) -> str:
        """The repository's address on GitHub."""
        return f"{GITHUB}/{self.owner}/{self.name}"


def parse_repository(
    value: str, *, branch: str = DEFAULT_BRANCH, source: str = "repository"
) -> Repository:
    """A `Repository` from ``owner/name`` and a branch name, checked.

    Parameters
    ----------
    value : str
        The repository, written ``owner/name``.
    branch : str, default "main"
        The branch the links point into.
    source : str, default "repository"
        Where `value` came from (a variable or an option), for the error
        message.

    Raises
    ------
    ValueError
        If `value` is not of the form ``owner/name`` or `branch` is not a
        plain git branch name.
    """
    owner, _, name = value.partition("/")
    if not (
        _OWNER.fullmatch(owner)
        and _NAME.fullmatch(name)
        and name not in (".", "..")
    ):
        raise ValueError(
            f"{source} must be a GitHub repository written owner/name "
            f"(for example octocat/klcourse), not {value!r}"
        )
    if not _BRANCH.fullmatch(branch) or ".." in branch:
        raise ValueError(
            f"{BRANCH_VARIABLE} must be a git branch name such as main, "
            f"not {branch!r}"
        )
    return Repository(owner, name, branch)


def repository_from_environment(
    environ: Mapping[str, str],
) -> Repository | None:
    """The repository a build is for, from environment variables.

    Parameters
    ----------
    environ : Mapping[str, str]
        The environment, such as ``os.environ``. ``KLCOURSE_REPOSITORY``
        wins over ``GITHUB_REPOSITORY``; an empty value counts as unset.
        ``KLCOURSE_BRANCH`` names the branch (default ``main``).

    Returns
    -------
    Repository or None
        None when neither variable is set: the build then shows no
        repository or launch buttons.

    Raises
    ------
    ValueError
        If the repository is not of the form ``owner/name``, or the branch
        is not a plain git branch name; the message names the variable.
    """
    for variable in REPOSITORY_VARIABLES:
        value = environ.get(variable, "")
        if value:
            break
    else:
        return None
    branch = environ.get(BRANCH_VARIABLE, "") or DEFAULT_BRANCH
    return parse_repository(value, branch=branch, source=variable)
