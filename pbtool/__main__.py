"""python -m pbtool: the same entry point as the pbtool command."""
from .cli import run

run()
