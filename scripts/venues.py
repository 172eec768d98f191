"""The venue registry as the scripts see it: `collateral-tracker venues --json`, run from the
built binary (so no script keeps its own table of venue kinds, URLs or symbol spellings).

    from venues import registry, price_kinds, spell
    for v in price_kinds(market="spot"):
        print(v["kind"], spell(v, "SIM1"))

The binary is the first that exists of: $CT_BIN; $CARGO_TARGET_DIR/{release,debug}/; target/{release,debug}/
(the newest when several exist). Field names: docs/venues.md.
"""
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_HINT = ("build it first: `cargo build --bin collateral-tracker` (or --release), "
              "or point CT_BIN at a built collateral-tracker")


def binary():
    """Path of the collateral-tracker binary to ask, or exit with how to build it."""
    env = os.environ.get("CT_BIN")
    if env:
        if not Path(env).is_file():
            sys.exit(f"CT_BIN={env} is not a file; {BUILD_HINT}")
        return env
    dirs = []
    if os.environ.get("CARGO_TARGET_DIR"):
        dirs.append(Path(os.environ["CARGO_TARGET_DIR"]))
    dirs.append(ROOT / "target")
    found = [d / p / "collateral-tracker" for d in dirs for p in ("release", "debug")]
    found = [f for f in found if f.is_file()]
    if not found:
        sys.exit(f"no collateral-tracker binary under {', '.join(str(d) for d in dirs)}; {BUILD_HINT}")
    return str(max(found, key=lambda f: f.stat().st_mtime))


@functools.lru_cache(maxsize=None)
def registry():
    """The parsed `venues --json` object: {"version", "template_base", "venues": [...]}."""
    exe = binary()
    try:
        out = subprocess.run([exe, "venues", "--json"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"{exe} venues --json failed ({e}); {BUILD_HINT}")
    data = json.loads(out)
    if data.get("version") != 1:
        sys.exit(f"{exe} venues --json: unknown version {data.get('version')!r}")
    return data


def kinds():
    """Every venue kind id, in registry order."""
    return [v["kind"] for v in registry()["venues"]]


def is_spot(venue):
    """Whether every sample symbol of the entry is a spot pair."""
    samples = venue["sample_symbols"]
    return bool(samples) and all(s.get("market") == "spot" for s in samples)


def price_kinds(market=None):
    """The kinds that stream prices (optionally only those whose samples are of `market`), in
    registry order."""
    out = []
    for v in registry()["venues"]:
        if "prices" not in v["roles"]:
            continue
        if market and any(s.get("market") != market for s in v["sample_symbols"]):
            continue
        out.append(v)
    return out


def spell(venue, base):
    """How `venue` (a `venues --json` entry) spells `base` against its usual quote."""
    return venue["symbol_template"].replace("{BASE}", base)


def usd_quoted_spot(venue):
    """Whether the venue's samples are spot pairs it splits itself with quote USD (`BTC-USD`,
    `BTC/USD`): then `spell(venue, "USDT")` is a USDT/USD pair (used to price USDT-USD)."""
    samples = venue["sample_symbols"]
    return bool(samples) and all(s.get("market") == "spot" and s.get("quote") == "USD" for s in samples)
