"""What a command runs with: the global options, the settings, the project, the servers.

The root callback (keyspace.cli.main) stores a :class:`CliState` in typer's
context; every command reads it through :func:`state`.  Nothing is read or
imported before a command asks for it, so ``keyspace --help`` works anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

import typer

from keyspace.errors import ConfigError

if TYPE_CHECKING:
    from keyspace.core.model import ModelSpec
    from keyspace.core.registry import Registry
    from keyspace.io.project import Project
    from keyspace.io.settings import Settings
    from keyspace.mapper import Mapper

SECRET_VARIABLES = ("REDIS_PASSWORD", "ENCRYPTION_KEY")
URL_VARIABLES = ("REDIS_URL", "CELERY_BROKER_URL_OVERRIDE", "CELERY_RESULT_BACKEND_OVERRIDE")
PROJECT_VARIABLES = ("KEYSPACE_MODELS", "KEYSPACE_MIGRATIONS", "KEYSPACE_PROJECT")


@dataclass
class CliState:
    """The global options of one invocation, and what was derived from them (cached)."""

    debug: bool = False
    env_file: Path | None = None  # None: ./.env when it exists
    models: tuple[str, ...] = ()
    migrations: tuple[str, ...] = ()
    project_path: Path | None = None
    _environment: dict[str, str] | None = field(default=None, repr=False)
    _project: Project | None = field(default=None, repr=False)

    # --- settings ----------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The variables keyspace reads: the .env file, overridden by the process environment."""
        if self._environment is None:
            from dotenv import dotenv_values

            path = self.env_file if self.env_file is not None else Path(".env")
            if self.env_file is not None and not path.is_file():
                raise ConfigError(f"--env-file {path}: no such file")
            values: dict[str, str] = {}
            if path.is_file():
                values = {k: v for k, v in dotenv_values(path).items() if v is not None}
            self._environment = {**values, **os.environ}
        return self._environment

    def settings(self) -> Settings:
        """Settings from the environment and the .env file (``--env-file`` or ./.env)."""
        from keyspace.io.settings import Settings

        self.environment()  # a missing --env-file is an error, not an empty configuration
        return Settings.load(env_file=str(self.env_file) if self.env_file is not None else ".env")

    def secrets(self) -> list[str]:
        """Every secret value the configuration holds (for redacting error output)."""
        try:
            env = self.environment()
        except ConfigError:
            env = dict(os.environ)
        found = [env.get(name, "") for name in SECRET_VARIABLES]
        found += [k.strip() for k in env.get("ENCRYPTION_OLD_KEYS", "").split(",")]
        for name in URL_VARIABLES:
            try:
                password = urlsplit(env.get(name, "")).password
            except ValueError:
                password = None
            if password:
                found += [password, unquote(password)]
        return [s for s in found if s]

    # --- the application's schema and migrations ------------------------------------------

    def project(self) -> Project:
        """``[tool.keyspace]`` + KEYSPACE_* (from the environment and the .env) + --models/--migrations."""
        if self._project is None:
            from keyspace.io.project import Project

            self._project = Project.discover(
                models=self.models,
                migrations=self.migrations,
                project=self.project_path,
                env=self.environment(),
            )
        return self._project

    def registry(self, *, require: bool = False) -> Registry:
        """Import the configured schema modules; ``require``: refuse when none is configured."""
        project = self.project()
        if require:
            project.require_models()
        return project.load_models()

    # --- the servers --------------------------------------------------------------------

    def mapper(self, url: str | None = None, celery_url: str | None = None) -> Mapper:
        """The mapper for a command: the servers of the settings, or --url / --celery-url."""
        from keyspace.mapper import Mapper

        settings = self.settings()
        if url is None and celery_url is None:
            # the settings' servers (./.env or --env-file, and the environment), with their
            # credentials and TLS options, health checks and all
            return Mapper.from_settings(settings)
        if url is None:
            url = _app_url(settings)
            if celery_url is None and not url.startswith("memory:"):
                celery_url = settings.celery_url()
        return Mapper.from_url(
            url,
            celery_url=celery_url,
            cluster=settings.cluster,
            link_options=settings.link_options(),
            **settings.mapper_options(),
        )

    def servers(self, url: str | None, celery_url: str | None) -> dict[str, str]:
        """Printable (redacted) descriptions of the app and celery servers a command uses."""
        from keyspace.io.clients import redact

        def describe(kind: str, explicit: str | None) -> str:
            if explicit is not None:
                return redact(explicit)
            try:
                settings = self.settings()
                return redact(settings.app_url() if kind == "app" else settings.celery_url())
            except ConfigError:
                return "(not configured)"

        app = describe("app", url)
        if celery_url is not None:
            celery = redact(celery_url)
        elif url is not None:
            celery = (
                f"DB 1 of the same in-memory server as {app}"
                if url.startswith("memory:")
                else f"{app} (the --url server: no --celery-url given)"
            )
        else:
            celery = describe("celery", None)
        return {"app": app, "celery": celery}

    def note_celery_server(self, spec: ModelSpec, url: str | None, celery_url: str | None) -> None:
        """Say which server a Celery model is read from when only --url chose the servers."""
        if spec.server != "celery" or url is None or celery_url is not None:
            return
        from rich.console import Console
        from rich.text import Text

        where = self.servers(url, celery_url)["celery"]
        Console(stderr=True, soft_wrap=True).print(
            Text(
                f"note: {spec.name} lives on the celery server; only --url was given, so it is read from "
                f"{where}. Add --celery-url URL to read the celery server.",
                style="yellow",
            )
        )


def _app_url(settings: Settings) -> str:
    """The app server's URL carrying the settings' password and CA file (only ever given to redis-py),
    for a command given --celery-url alone: the app server still comes from the settings."""
    url = settings.app_url()
    if url.startswith("memory:"):
        return url
    parts = urlsplit(url)
    options = settings.client_options()
    if "password" in options and parts.password is None:  # credentials inside the URL win
        user = quote(unquote(parts.username or options.get("username", "")), safe="")
        host = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{user}:{quote(options['password'], safe='')}@{host}")
    if "ssl_ca_certs" in options:
        query = f"ssl_ca_certs={quote(options['ssl_ca_certs'])}"
        parts = parts._replace(query=f"{parts.query}&{query}" if parts.query else query)
    return parts.geturl()


def state(ctx: typer.Context | None) -> CliState:
    """The CliState of this invocation (a default one when a command is called without the root)."""
    root = ctx.find_root() if ctx is not None else None
    if root is None:
        return CliState()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
