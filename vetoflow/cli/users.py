"""`vetoflow users add/passwd/roles/token/revoke/remove/list`: writes the users file (hashes only, never a
secret). Every change replaces the file atomically; running servers apply it at their next request."""

from __future__ import annotations

import getpass
import sys

import click

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.directory import users_file_path
from vetoflow.identity.passwords import MAX_LENGTH, check_strength, hash_password
from vetoflow.identity.users_file import (
    add_user,
    load_users_file,
    new_token,
    remove_user,
    revoke_tokens,
    set_password,
    set_roles,
)


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.read(MAX_LENGTH + 2)
        password = text[:-1] if text.endswith("\n") else text
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise VetoflowError("the two passwords differ")
    check_strength(password, name)
    return password


@click.group()
def users() -> None:
    """Manage the users file (VETOFLOW_USERS_FILE, default $VETOFLOW_HOME/users.yaml)."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="viewer, analyst, approver, admin (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--no-password", is_flag=True, help="API tokens only: no console login.")
@click.pass_context
def add(ctx: click.Context, name: str, roles: tuple[str, ...], password_stdin: bool, no_password: bool) -> None:
    """Add a user with one or more roles and (unless --no-password) a password."""
    if password_stdin and no_password:
        raise click.UsageError(
            "--password-stdin and --no-password are alternatives: give one (or neither, to be asked)"
        )
    settings: Settings = ctx.obj
    digest = None if no_password else hash_password(_read_password(name, password_stdin))
    path = users_file_path(settings)
    add_user(path, name, list(roles), digest)
    click.echo(f"added {name} ({', '.join(roles)}) to {path}", err=True)


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.pass_context
def passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    path = users_file_path(ctx.obj)
    set_password(path, name, hash_password(_read_password(name, password_stdin)))
    click.echo(f"password of {name} changed in {path}", err=True)


@users.command("token")
@click.argument("name")
@click.pass_context
def token(ctx: click.Context, name: str) -> None:
    """Print a new API token for NAME, once; only its hash is stored."""
    click.echo(new_token(users_file_path(ctx.obj), name))


@users.command("roles")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="The user's roles from now on (repeatable).")
@click.pass_context
def roles(ctx: click.Context, name: str, roles: tuple[str, ...]) -> None:
    """Replace NAME's roles (e.g. take `approver` away)."""
    path = users_file_path(ctx.obj)
    set_roles(path, name, list(roles))
    click.echo(f"{name} now has the roles {', '.join(dict.fromkeys(roles))} in {path}", err=True)


@users.command("revoke")
@click.argument("name")
@click.option("--token", "token_id", help="The token's id (the part after vft_, as `users list` shows it).")
@click.option("--all", "all_tokens", is_flag=True, help="Every token of NAME.")
@click.pass_context
def revoke(ctx: click.Context, name: str, token_id: str | None, all_tokens: bool) -> None:
    """Revoke one API token of NAME, or all of them."""
    if bool(token_id) == all_tokens:
        raise click.UsageError("give --token ID or --all")
    path = users_file_path(ctx.obj)
    count = revoke_tokens(path, name, token_id)
    click.echo(f"revoked {count} token(s) of {name} in {path}", err=True)


@users.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove NAME (password and tokens); runs and audit entries naming them stay."""
    path = users_file_path(ctx.obj)
    remove_user(path, name)
    click.echo(f"removed {name} from {path}", err=True)


@users.command("list")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """Names, roles and token ids (never hashes)."""
    users_file = load_users_file(users_file_path(ctx.obj))
    for record in users_file.users.values():
        login = "password" if record.password else "no password"
        ids = ", ".join(t.id for t in record.tokens)
        tokens = f"{len(record.tokens)} token(s)" + (f": {ids}" if ids else "")
        click.echo(f"{record.name}\t{','.join(record.roles)}\t{login}\t{tokens}")
