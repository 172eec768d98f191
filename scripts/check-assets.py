#!/usr/bin/env python3
"""Checks normalizer/data/assets.toml against the rules of docs/assets.md.

Usage: python3 scripts/check-assets.py [path]   (exit 1 on any violation, warnings do not fail)

The venue kinds a row may name come from the built binary (`collateral-tracker venues --json`):
build it first (`cargo build --bin collateral-tracker`), or set CT_BIN.
"""
import re
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from venues import kinds  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PATH = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "normalizer/data/assets.toml"

CLASSES = {"cash", "stablecoin", "btc", "eth", "alt", "long_tail", "testnet"}
# Every venue kind of the registry, read from the built binary (scripts/venues.py), plus "*".
VENUES = set(kinds()) | {"*"}
CODE_RE = re.compile(r"^[A-Z0-9]{1,20}$")
NET_RE = re.compile(r"^[A-Z0-9_]+$")
VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\d+$")
# Codes the hard-coded list knew (normalizer/src/assets.rs) plus those the brief requires.
REQUIRED = ("USD EUR GBP BTC ETH SOL XRP DOGE ADA DOT LTC BNB AVAX LINK TRX BCH XLM ATOM UNI NEAR "
            "USDT USDC DAI FDUSD PYUSD TUSD USDE SHIB OKB PAXG XAUT MATIC POL TON EURR USYC "
            "JPY CHF CAD AUD SGD HKD").split()
MUST_ALT = "SOL XRP BNB DOGE ADA TRX AVAX LINK DOT LTC BCH XLM ATOM UNI NEAR".split()
NEVER_BTC_ETH = "WBTC CBBTC TBTC BTCB LBTC STETH WSTETH WETH CBETH WEETH RETH WBETH".split()
NOT_USD_STABLE = "EURC EURR EURS EURCV EURI EURQ XSGD PAXG XAUT".split()
MIN_RANKED = 300
# Venue codes that must map to a testnet asset when present (never to a mainnet one).
TESTNET_HINT = re.compile(r"(_TEST\d*$|_TEST_|TEST\d?_|_SEPOLIA|_FUJI|AMOY|MUMBAI|HOLESKY|^WND$|^TEST)")
BITGO_TESTNET = re.compile(r"^(t[a-z0-9]+|gteth|hteth|tbtc\d?|tbtcsig)(:|$)")
# Mainnet BitGo chains/tokens whose id merely starts with "t".
BITGO_MAINNET_T = {"tao", "tia", "trx", "ton", "tusd", "tel", "tbtc2", "tbtc1", "tempo"}

errors, warnings = [], []
err = errors.append
warn = warnings.append

try:
    data = tomllib.loads(PATH.read_text(encoding="utf-8"))
except (OSError, tomllib.TOMLDecodeError) as e:
    print(f"FAIL cannot read {PATH}: {e}")
    sys.exit(1)

allowed_top = {"version", "asset", "code", "ambiguous"}
for k in data:
    if k not in allowed_top:
        err(f"unknown top-level key {k!r}")
if not VERSION_RE.match(str(data.get("version", ""))):
    err(f"version {data.get('version')!r} is not YYYY-MM-DD.N")

assets = {}
ranks = {}
for i, a in enumerate(data.get("asset", [])):
    extra = set(a) - {"code", "name", "class", "rank"}
    if extra:
        err(f"asset #{i} has unknown keys {sorted(extra)}")
    c = a.get("code", "")
    if not CODE_RE.match(c):
        err(f"asset code {c!r} is not ^[A-Z0-9]{{1,20}}$")
    if c in assets:
        err(f"duplicate asset code {c}")
    if not a.get("name"):
        err(f"asset {c} has no name")
    k = a.get("class")
    if k not in CLASSES:
        err(f"asset {c} has unknown class {k!r}")
    r = a.get("rank")
    if r is not None:
        if not isinstance(r, int) or r < 1:
            err(f"asset {c} rank {r!r} is not a positive integer")
        elif k in ("cash", "testnet"):
            err(f"asset {c} of class {k} must not carry a rank")
        elif r in ranks:
            err(f"rank {r} used by {ranks[r]} and {c}")
        else:
            ranks[r] = c
    if k == "testnet" and not c.endswith("TEST"):
        err(f"testnet asset {c} must be named <ASSET>TEST")
    if c.endswith("TEST") and k != "testnet":
        err(f"asset {c} looks like a testnet code but has class {k}")
    assets[c] = k

for c in REQUIRED:
    if c not in assets:
        err(f"required asset {c} missing")
for c in MUST_ALT:
    if assets.get(c) not in (None, "alt"):
        err(f"{c} must be class alt, is {assets[c]}")
for c, k in assets.items():
    if k == "btc" and c != "BTC":
        err(f"only BTC may be class btc, not {c}")
    if k == "eth" and c != "ETH":
        err(f"only ETH may be class eth, not {c}")
for c in NEVER_BTC_ETH + NOT_USD_STABLE:
    if assets.get(c) in ("btc", "eth", "stablecoin"):
        err(f"{c} must not be class {assets[c]}")
if assets.get("BTC") != "btc" or assets.get("ETH") != "eth" or assets.get("USD") != "cash":
    err("BTC must be btc, ETH eth, USD cash")
if len(ranks) < MIN_RANKED:
    err(f"only {len(ranks)} ranked assets, need >= {MIN_RANKED}")
if ranks and sorted(ranks) != list(range(1, len(ranks) + 1)):
    warn("ranks are not contiguous 1..N")

amb = {}
for i, a in enumerate(data.get("ambiguous", [])):
    extra = set(a) - {"venue", "code", "reason"}
    if extra:
        err(f"ambiguous #{i} has unknown keys {sorted(extra)}")
    v, c = a.get("venue"), a.get("code")
    if v not in VENUES:
        err(f"ambiguous {c!r}: unknown venue {v!r}")
    if not c or not a.get("reason"):
        err(f"ambiguous #{i} needs code and reason")
    if (v, c) in amb:
        err(f"duplicate ambiguous row ({v}, {c})")
    amb[(v, c)] = a.get("reason")
amb_codes = {c for (_, c) in amb}

seen = {}
for i, r in enumerate(data.get("code", [])):
    extra = set(r) - {"venue", "code", "asset", "network"}
    if extra:
        err(f"code #{i} has unknown keys {sorted(extra)}")
    v, c, a, n = r.get("venue"), r.get("code"), r.get("asset"), r.get("network")
    where = f"[[code]] {v}:{c}"
    if v not in VENUES:
        err(f"{where}: unknown venue {v!r}")
    if not c:
        err(f"code #{i} has an empty code")
    if (v, c) in seen:
        err(f"{where}: duplicate (venue, code) row")
    seen[(v, c)] = a
    if a not in assets:
        err(f"{where}: asset {a!r} is not an [[asset]]")
        continue
    if n is not None and not NET_RE.match(n):
        err(f"{where}: network {n!r} is not ^[A-Z0-9_]+$")
    if c == a and n is None and c not in amb_codes:
        err(f"{where}: maps a code to itself without a network and no ambiguity to override")
    if (v, c) in amb:
        err(f"{where}: the same (venue, code) is both mapped and refused as ambiguous")
    is_test_asset = assets[a] == "testnet"
    looks_test = bool(TESTNET_HINT.search(c)) if v != "bitgo" else (
        bool(BITGO_TESTNET.match(c)) and c.split(":")[0] not in BITGO_MAINNET_T)
    if looks_test and not is_test_asset:
        err(f"{where}: testnet-looking code mapped to mainnet asset {a}")
    if is_test_asset and not looks_test:
        warn(f"{where}: maps to testnet {a} but does not look like a testnet code")
    if n and is_test_asset and not re.search(r"TEST|SEPOLIA|HOLESKY|HOODI|GOERLI|KOVAN|DEVNET|FUJI|AMOY|SIGNET|WESTEND|MUMBAI", n):
        err(f"{where}: testnet asset on a mainnet network {n}")
    if n and not is_test_asset and re.search(r"TEST|SEPOLIA|HOLESKY|HOODI|GOERLI|KOVAN|DEVNET|FUJI|AMOY|SIGNET", n):
        err(f"{where}: mainnet asset {a} on a testnet network {n}")
    if v == "bitgo" and c != c.lower() and not c.startswith(("algo:", "xlm:", "talgo:", "txlm:", "eos:", "teos:")):
        warn(f"{where}: BitGo ids are lower case")

# Ambiguous codes that are also canonical codes: legal (they are refused on venue input until a row
# maps them) but worth listing.
for (v, c) in amb:
    if c in assets:
        warn(f"ambiguous ({v}, {c}) is also a canonical code: refused from venues unless mapped")

# Glued symbols (BTCUSDT) are split against known codes; report symbols that split two ways.
quotes = [q for q in ("USDT", "USDC", "USD", "BTC", "ETH", "EUR", "FDUSD", "BNB", "TUSD", "DAI") if q in assets]
canon = set(assets)
for b in sorted(canon):
    for qq in quotes:
        s = b + qq
        splits = [(s[:i], s[i:]) for i in range(1, len(s)) if s[:i] in canon and s[i:] in canon]
        if len(splits) > 1:
            warn(f"glued symbol {s} splits {len(splits)} ways: {splits}")

for w in warnings:
    print("warn", w)
for e in errors:
    print("FAIL", e)
by_class = {}
for k in assets.values():
    by_class[k] = by_class.get(k, 0) + 1
by_venue = {}
for (v, _) in seen:
    by_venue[v] = by_venue.get(v, 0) + 1
print(f"{PATH.name}: version {data.get('version')}, {len(assets)} assets {dict(sorted(by_class.items()))}, "
      f"{len(ranks)} ranked, {len(seen)} codes {dict(sorted(by_venue.items()))}, {len(amb)} ambiguous; "
      f"{len(errors)} errors, {len(warnings)} warnings")
sys.exit(1 if errors else 0)
