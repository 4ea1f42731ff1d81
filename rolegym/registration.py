"""The environment registry: ids, specs, ``make``, and PettingZoo interop.

Ids follow Gymnasium and PettingZoo: ``[namespace/]name[-vN]``, for example
``voting-math-v0``. An unversioned id resolves to the latest registered version with a
warning; an outdated version warns that a newer one exists; an unknown id raises
:class:`EnvNotFound` naming the closest registered ids.

Every spec is also registered with PettingZoo's registry under the ``rolegym/`` namespace,
so ``pettingzoo.make("aec", "rolegym/voting-math-v0")`` works once ``rolegym`` is imported.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import warnings
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

__all__ = [
    "EnvNotFound",
    "EnvSpec",
    "make",
    "parse_env_id",
    "pprint_registry",
    "register",
    "registry",
    "spec",
]

PETTINGZOO_NAMESPACE = "rolegym"
_ID = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")


class EnvNotFound(LookupError):
    """No registered environment matches an id."""


def parse_env_id(env_id: str) -> tuple[str | None, str, int | None]:
    """Split ``[namespace/]name[-vN]`` into ``(namespace, name, version)``.

    Raises:
        ValueError: If the id does not follow the grammar.
    """
    m = _ID.match(env_id)
    if not m:
        raise ValueError(
            f"malformed environment id {env_id!r}: expected '[namespace/]name[-vN]', "
            "e.g. 'voting-math-v0'"
        )
    version = m.group("version")
    return m.group("namespace"), m.group("name"), None if version is None else int(version)


@dataclass(frozen=True)
class EnvSpec:
    """How to build one registered environment.

    Attributes:
        id: The full id, e.g. ``"voting-math-v0"``.
        entry_point: ``"module:attr"`` (imported lazily) or a callable returning an ``AECEnv``.
        kwargs: Default keyword arguments; ``make``'s keyword arguments override them.
        description: One line for listings (:attr:`summary` falls back to the first line of
            the entry point's module docstring).
    """

    id: str
    entry_point: str | Callable[..., AECEnv]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def namespace(self) -> str | None:
        """The namespace part of the id, if any."""
        return parse_env_id(self.id)[0]

    @property
    def name(self) -> str:
        """The id without namespace and version (``"voting-math"``)."""
        return parse_env_id(self.id)[1]

    @property
    def version(self) -> int | None:
        """The version number."""
        return parse_env_id(self.id)[2]

    @property
    def summary(self) -> str:
        """``description``, or the first docstring line of the entry point's module (imported)."""
        if self.description:
            return self.description
        module = getattr(self.load(), "__module__", None)
        doc = (importlib.import_module(module).__doc__ or "") if module else ""
        return doc.strip().partition("\n")[0]

    def load(self) -> Callable[..., AECEnv]:
        """The environment constructor (imports the module of a string entry point)."""
        if callable(self.entry_point):
            return self.entry_point
        module, _, attr = self.entry_point.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make(self, **kwargs: Any) -> AECEnv:
        """Build the environment, wrapped in PettingZoo's ``OrderEnforcingWrapper``."""
        merged = {**deepcopy(dict(self.kwargs)), **kwargs}
        env = self.load()(**merged)
        env.spec = self  # like Gymnasium's env.spec: which id (and defaults) built it
        env.metadata = {**env.metadata, "name": self.id}
        return OrderEnforcingWrapper(env)


#: Every registered spec, by id.
registry: dict[str, EnvSpec] = {}


def register(
    id: str,
    entry_point: str | Callable[..., AECEnv],
    *,
    kwargs: Mapping[str, Any] | None = None,
    description: str = "",
    pettingzoo: bool = True,
) -> EnvSpec:
    """Register an environment.

    Args:
        id: ``[namespace/]name-vN``; a version is required.
        entry_point: ``"module:attr"`` or a callable returning an ``AECEnv``.
        kwargs: Default keyword arguments.
        description: One line for :func:`pprint_registry`.
        pettingzoo: Also register it with PettingZoo as ``rolegym/<id>``.

    Returns:
        The new spec.
    """
    _, _, version = parse_env_id(id)
    if version is None:
        raise ValueError(f"register a versioned id such as {id!r}-v0, not {id!r}")
    if id in registry:
        warnings.warn(f"overriding registered environment {id!r}", stacklevel=2)
    new = EnvSpec(
        id=id, entry_point=entry_point, kwargs=dict(kwargs or {}), description=description
    )
    registry[id] = new
    if pettingzoo:
        import pettingzoo as pz

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # re-registration on reload is expected
            pz.register("aec", f"{PETTINGZOO_NAMESPACE}/{id}", functools.partial(make, id))
    return new


def _versions(name: str, namespace: str | None) -> dict[int, EnvSpec]:
    out = {}
    for s in registry.values():
        ns, n, v = parse_env_id(s.id)
        if n == name and ns == namespace and v is not None:
            out[v] = s
    return out


def spec(id: str) -> EnvSpec:
    """Look up the spec of ``id``; an unversioned id resolves to the latest version.

    Raises:
        EnvNotFound: With the closest registered ids.
    """
    if id in registry:
        found = registry[id]
    else:
        namespace, name, version = parse_env_id(id)
        if namespace == PETTINGZOO_NAMESPACE:
            namespace = None
        versions = _versions(name, namespace)
        if not versions:
            close = difflib.get_close_matches(id, list(registry), n=5, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise EnvNotFound(
                f"no environment named {id!r}.{hint} See rolegym.pprint_registry() or "
                "`rolegym list` for every id."
            )
        if version is None:
            found = versions[max(versions)]
            warnings.warn(
                f"{id!r} has no version; using the latest, {found.id!r}. Name the version to "
                "keep results comparable.",
                UserWarning,
                stacklevel=3,
            )
        elif version not in versions:
            raise EnvNotFound(
                f"{name!r} has no version {version}; registered: "
                + ", ".join(versions[v].id for v in sorted(versions))
            )
        else:
            found = versions[version]
    latest = max(_versions(found.name, found.namespace))
    if found.version is not None and found.version < latest:
        warnings.warn(
            f"{found.id!r} is outdated; the latest version is v{latest}.",
            DeprecationWarning,
            stacklevel=3,
        )
    return found


def make(id: str | EnvSpec, **kwargs: Any) -> AECEnv:
    """Build a registered environment.

    Args:
        id: An id (``"voting-math-v0"``, or unversioned ``"voting-math"`` for the latest)
            or an :class:`EnvSpec`.
        **kwargs: Override the spec's default keyword arguments.

    Returns:
        The environment, wrapped only in PettingZoo's ``OrderEnforcingWrapper``; the
        rolegym extras are on ``env.unwrapped``.
    """
    env_spec = id if isinstance(id, EnvSpec) else spec(id)
    return env_spec.make(**kwargs)


def pprint_registry(
    print_registry: Mapping[str, EnvSpec] | None = None, *, disable_print: bool = False
) -> str | None:
    """Print the registered ids grouped by task kind.

    With ``disable_print=True`` the text is returned instead.
    """
    reg = registry if print_registry is None else print_registry
    groups: dict[str, list[str]] = {}
    for env_id, s in sorted(reg.items()):
        groups.setdefault(str(s.kwargs.get("task", "other")), []).append(env_id)
    lines = []
    for kind, ids in groups.items():
        lines.append(f"===== {kind} =====")
        lines.extend(ids)
        lines.append("")
    text = "\n".join(lines).rstrip()
    if disable_print:
        return text
    print(text)
    return None
