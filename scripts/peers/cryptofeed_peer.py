"""cryptofeed's Binance feed, driven with frames from a file (no network): its own
`Binance.message_handler` (json.loads with Decimal floats, stream envelope, `_ticker`: symbol
mapping, Decimal bid/ask, `Ticker` object, callback), timed per frame.

The symbol table is what cryptofeed would fetch from Binance's exchangeInfo, built offline from
the symbols in the frames, through Binance's own `_parse_symbol_data`.
Usage: python cryptofeed_peer.py FRAMES_FILE PASSES
"""

import asyncio
import json
import sys
import time

from cryptofeed.defines import TICKER
from cryptofeed.exchanges import Binance
from cryptofeed.symbols import Symbols

# (symbol, base, quote) of every symbol in cryptofeed's own BINANCE.ws.1.0 capture.
KNOWN = [("NKNUSDT", "NKN", "USDT"), ("BLZETH", "BLZ", "ETH"), ("LRCBTC", "LRC", "BTC"), ("RUNEEUR", "RUNE", "EUR")]


def main():
    path, passes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    frames = open(path).read().splitlines()
    info = {"symbols": [{"symbol": s, "baseAsset": b, "quoteAsset": q, "status": "TRADING",
                         "filters": [{"tickSize": "0.00000100"}]} for s, b, q in KNOWN]}
    syms, extra = Binance._parse_symbol_data(info)
    Symbols.set(Binance.id, syms, extra)
    count = [0]

    async def on_ticker(t, receipt):
        count[0] += 1

    feed = Binance(symbols=list(syms.keys()), channels=[TICKER], callbacks={TICKER: on_ticker})

    batches = []

    async def run():
        best = float("inf")
        handler = feed.message_handler
        for _ in range(passes):
            start = time.perf_counter_ns()
            for i in range(0, len(frames), 1000):
                b = time.perf_counter_ns()
                chunk = frames[i:i + 1000]
                for f in chunk:
                    await handler(f, None, 1795000000.0)
                batches.append((time.perf_counter_ns() - b) / len(chunk))
            best = min(best, (time.perf_counter_ns() - start) / len(frames))
        return best

    best = asyncio.run(run())
    assert count[0] == len(frames) * passes, (count[0], len(frames), passes)
    batches.sort()
    median = batches[len(batches) // 2]
    print(f"cryptofeed {best:.1f} ns/frame best pass, {median:.1f} ns/frame median batch, "
          f"{1e9 / best:.0f} frames/s ({len(frames)} frames x {passes} passes)")


if __name__ == "__main__":
    main()
