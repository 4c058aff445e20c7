"""``isocenter keys``: key pairs and signed client assertions for backend clients.

``keys new`` makes what a backend service registers (its public JWK Set) and keeps (its
private key); ``keys assertion`` signs a client assertion with that key, for trying the
client_credentials grant with curl. Exit codes: 0 done; 1 the folder already holds a key
pair or the key file is unusable.
"""

from __future__ import annotations

from pathlib import Path

import click

from isocenter.auth.client_keys import (
    ALGORITHMS,
    load_private_key,
    sign_assertion,
    write_key_pair,
)

_KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def keys() -> None:
    """Key pairs and client assertions for SMART Backend Services clients."""


@keys.command("new")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--alg", "algorithm", type=click.Choice(ALGORITHMS), default="ES384")
@click.option("--kid", help="Key id (default: the key's RFC 7638 thumbprint).")
def keys_new(out_dir: Path, algorithm: str, kid: str | None) -> None:
    """Write private_key.pem (keep it) and jwks.json (register it) into OUT_DIR."""
    try:
        private_path, jwks_path, kid = write_key_pair(out_dir, algorithm, kid)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"private key   {private_path}  (keep it secret)")
    click.echo(f"JWK Set       {jwks_path}  (register it: isocenter apps add --jwks-file)")
    click.echo(f"kid           {kid}")
    click.echo(f"alg           {algorithm}")


@keys.command("assertion")
@click.option("--key", "key_path", required=True, type=_KEY_FILE, help="private_key.pem")
@click.option("--client-id", required=True)
@click.option("--token-url", required=True, help="e.g. https://fhir.example.org/auth/token")
@click.option("--kid", help="Key id (default: the key's RFC 7638 thumbprint).")
def keys_assertion(key_path: Path, client_id: str, token_url: str, kid: str | None) -> None:
    """Print a client assertion (valid five minutes, usable once)."""
    try:
        key = load_private_key(key_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(sign_assertion(key, client_id=client_id, token_url=token_url, kid=kid))
