"""`nitrosignal keys`: create and inspect CURVE keypairs."""

from __future__ import annotations

from pathlib import Path

import typer

from nitrosignal.keys import KeyFileError, generate_keypair, load_public, load_secret

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def generate(
    name: str = typer.Argument(..., help="Base name, for example the camera id or 'platform'."),
    directory: Path = typer.Option(Path("."), "--dir", "-d", help="Folder to write the key files into."),
    overwrite: bool = typer.Option(False, help="Replace existing key files."),
) -> None:
    """Write NAME.key (public, share it) and NAME.key_secret (mode 0600, keep it on the machine)."""
    try:
        files = generate_keypair(directory, name, overwrite=overwrite)
    except FileExistsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"public key: {files.public_path}  ({load_public(files.public_path).decode()})")
    typer.echo(f"secret key: {files.secret_path}  (mode 0600, never copy it off this machine)")


@app.command()
def show(path: Path = typer.Argument(..., help="A .key or .key_secret file.")) -> None:
    """Print the public key of a certificate file, checking a secret file's permissions."""
    try:
        public = load_secret(path).public if path.name.endswith("_secret") else load_public(path)
    except KeyFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(public.decode())
