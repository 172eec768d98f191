import re, sys
ours_c, ours_r, barter, cf, rep_b, rep_m, n = sys.argv[1:]

def figures(line):
    best = float(re.search(r"([\d.]+) ns/frame best", line).group(1))
    med = float(re.search(r"([\d.]+) ns/frame median", line).group(1))
    return best, med

def ours(text, stage):
    for line in text.splitlines():
        if line.startswith("ours " + stage + ":"):
            return figures(line)
    return None

rows = [
    ("collateral-tracker decode -> QuoteObs", "raw", ours(ours_r, "decode (frame -> QuoteObs)")),
    ("collateral-tracker decode+normalize -> price_tick", "raw", ours(ours_r, "decode + normalize (-> price_tick.v1)")),
    ("collateral-tracker decode -> QuoteObs", "combined", ours(ours_c, "decode (frame -> QuoteObs)")),
    ("collateral-tracker decode+normalize -> price_tick", "combined", ours(ours_c, "decode + normalize (-> price_tick.v1)")),
    ("collateral-tracker ... + JSON encode", "combined", ours(ours_c, "decode + normalize + JSON encode")),
]
if barter.strip():
    rows.append(("barter-data 0.13 -> MarketEvent<OrderBookL1>", "raw", figures(barter)))
if cf.strip():
    rows.append(("cryptofeed 2.4.1 message_handler -> Ticker", "combined", figures(cf)))
ref = rows[1][2][1]
print(f"Binance bookTicker, {int(n):,} real frames (cycled). ns/frame: median of 1,000-frame batches")
print("(robust to preemption on a shared machine) and best whole pass; ratio = median / ours")
print("decode+normalize on the raw frames.")
print(f"{'implementation':<52} {'frames':<9} {'median':>8} {'best':>8} {'frames/s':>11} {'ratio':>7}")
for name, form, v in rows:
    best, med = v
    print(f"{name:<52} {form:<9} {med:>8.1f} {best:>8.1f} {1e9/med:>11,.0f} {med/ref:>6.2f}x")
print()
if barter.strip():
    print(f"barter-data / ours, same raw frames (median): {figures(barter)[1] / ref:.2f}x   (target >= 2x)")
print(f"ours decode+normalize, median (combined frames): {rows[3][2][1]:.0f} ns   (target <= 250 ns)")
print("\nreplay --stats (records written):")
print(rep_b)
print(rep_m)
