#!/usr/bin/env python3
"""Large capture files for benchmarks, built from the real payloads in the project's fixtures.

Usage:
  scripts/gen-capture.py binance N OUT    N Binance bookTicker frames (the 42 live bookTicker
                                          frames of cryptofeed's BINANCE.ws.1.0 capture, cycled)
  scripts/gen-capture.py mixed N OUT      N frames cycled across the registry's price kinds
                                          (one real ticker frame each, see FRAMES)
  scripts/gen-capture.py frames N OUT     the same N Binance frames as `binance`, one frame text a
                                          line (combined-stream envelope, as Binance sends them)
  scripts/gen-capture.py raw-frames N OUT the `data` object of each of those frames, byte for byte
                                          (a raw-stream frame, the form barter-data subscribes to)

Frames are copied as they are in the fixture, with two edits only: pretty-printed fixtures are
minified (whitespace outside strings removed; number and string bytes untouched), and the venue's
update id is offset by a multiple of 10^12 per cycle, so that the connector's sequencing does not
drop the repeated frames as duplicates. `received_at` advances 10 us a frame (100 k frames/s of
capture clock: a reference-price tick every 100 k frames).
"""

import json
import re
import sys
import time as _t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from venues import price_kinds  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "connectors" / "tests" / "fixtures"
CYCLE = 10**12


def minify(text: str) -> str:
    """Drops whitespace outside JSON strings, keeping every other byte (numbers stay exact)."""
    out, in_str, esc = [], False, False
    for ch in text:
        if in_str:
            out.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)


def binance_frames():
    lines = (FIX / "binance" / "replay_cryptofeed_BINANCE.ws.1.0.excerpt.txt").read_text().splitlines()
    frames = [l.split(": ", 1)[1] for l in lines[1:] if "@bookTicker" in l]
    assert len(frames) == 42, len(frames)
    return frames


def bump(field):
    """A rewrite of the integer `"field":N` to N + k * 10^12."""
    pat = re.compile(r'("%s":)(\d+)' % re.escape(field))
    return lambda f, k: pat.sub(lambda m: m.group(1) + str(int(m.group(2)) + k * CYCLE), f, count=1)


def bitfinex_seq(f, k):
    # `[chanId,[...],seq]`: the trailing element is the sequence number (conf flag SEQ_ALL).
    m = re.match(r"^(.*,)(\d+)\]$", f)
    return m.group(1) + str(int(m.group(2)) + k * CYCLE) + "]"


def same(f, _k):
    return f


# Script-specific, not registry data: which real recorded frame each price kind replays, how to
# renumber it per cycle, the connector id of scripts/bench/mixed.toml, and the setup frames sent
# first. kind -> (connector id, fixture, rewrite of the sequence field, setup frames).
# The kinds cycled are the registry's price kinds (`collateral-tracker venues --json`, see
# scripts/venues.py) in registry order; a price kind with no frame chosen here is left out of
# the mixed capture (said on stderr), and a kind named here that the registry lacks is an error.
FRAMES = {
    "binance": ("binance-spot", "binance/ws_bookTicker_combined_live_capture.json", bump("u"), []),
    "binance_usdm": ("binance-usdm", "binance_usdm/ws_bookTicker_combined_live_capture.json", bump("u"), []),
    "coinbase": ("coinbase-main", "coinbase/advtrade_ws_ticker_nautilus.json", bump("sequence_num"), []),
    "kraken": ("kraken-main", "kraken/ws_v2_ticker_update.json", same, []),
    "okx": ("okx-main", "okx/ws_tickers_SPOT_live_capture.json", same, []),
    "bybit_spot": ("bybit-spot", "bybit/ws_tickers_spot_snapshot.json", same, []),
    "bybit_linear": ("bybit-linear", "bybit/ws_tickers_linear_perpetual_snapshot.json", bump("cs"), []),
    "deribit": ("deribit-main", "deribit/ws_ticker_BTC-PERPETUAL_100ms_nautilus.json", same, []),
    "bitfinex": ("bitfinex-main", "bitfinex/ws_v2_ticker_update_live_capture.json", bitfinex_seq,
                 ["bitfinex/ws_v2_subscribed_ticker_live_capture.json"]),
    "bitstamp": ("bitstamp-main", "bitstamp/ws_order_book_btcusd_gocryptotrader_test.json", same, []),
}


def mixed_venues():
    """(connector id, kind, fixture, rewrite, setup) of every registry price kind with a frame."""
    kinds = [v["kind"] for v in price_kinds()]
    unknown = sorted(set(FRAMES) - set(kinds))
    if unknown:
        sys.exit(f"gen-capture.py: FRAMES names kinds the registry lacks: {unknown}")
    out = []
    for kind in kinds:
        if kind not in FRAMES:
            print(f"gen-capture.py: no recorded frame chosen for {kind}: left out of the mixed capture",
                  file=sys.stderr)
            continue
        cid, fix, rw, setup = FRAMES[kind]
        out.append((cid, kind, fix, rw, setup))
    return out


class Writer:
    def __init__(self, path):
        self.out = open(path, "w", buffering=1 << 20)
        self.t = 1_795_000_000_000_000  # 2026-11-18T...Z in microseconds

    def line(self, connector, venue, frame):
        self.t += 10
        s, us = divmod(self.t, 1_000_000)
        ts = _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(s)) + ".%06dZ" % us
        rec = {"connector": connector, "venue": venue, "received_at": ts, "channel": "ws",
               "frame": frame, "epoch": 1}
        self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("binance", "mixed", "frames", "raw-frames"):
        sys.exit(__doc__)
    mode, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode in ("frames", "raw-frames"):
        frames = binance_frames()
        bu = bump("u")
        with open(path, "w", buffering=1 << 20) as out:
            for i in range(n):
                k, j = divmod(i, len(frames))
                f = bu(frames[j], k)
                if mode == "raw-frames":
                    assert f.startswith('{"stream":"') and f.endswith("}}"), f
                    f = f[f.index(',"data":') + len(',"data":'):-1]
                out.write(f + "\n")
        return
    w = Writer(path)
    if mode == "binance":
        frames = binance_frames()
        bu = bump("u")
        for i in range(n):
            k, j = divmod(i, len(frames))
            w.line("binance-spot", "binance", bu(frames[j], k))
        return
    venues = []
    for cid, kind, fix, rw, setup in mixed_venues():
        for s in setup:
            w.line(cid, kind, minify((FIX / s).read_text()))
        venues.append((cid, kind, minify((FIX / fix).read_text()), rw))
    for i in range(n):
        k, j = divmod(i, len(venues))
        cid, kind, frame, rw = venues[j]
        w.line(cid, kind, rw(frame, k + 1))


if __name__ == "__main__":
    main()
