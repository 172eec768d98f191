//! The valuation CV(q, p) of `collateral.md` as a tight kernel for full revaluation: the margin
//! engine revalues each account many times per report (a top-up bisection, five stress
//! scenarios, hundreds of ES scenarios), so the asset -> class resolution is done once per
//! account ([`Book`]) and one revaluation is a loop over that account's assets with no
//! allocation, no hashing and no record building.
//!
//! It is the same method as `valuation::value_account_with` for the counted quantities and the
//! used prices of a collateral report: progressive tiers on the asset's USD MV, de-peg moves by
//! the stablecoin's own (here: shocked) price, one pass of concentration caps against the
//! pre-cap total, negative holdings counted in full, testnet coins at 0, an MV beyond
//! `Decimal`'s range counted 0. A property test checks that both agree exactly
//! (`tests/it/margin_props.rs`), so the kernel cannot drift from the method.

use crate::valuation::{ValuationParams, CASH_ASSET, TESTNET_CLASS};
use rust_decimal::Decimal;
use schemas::CollateralReport;
use std::collections::HashMap;

/// One tier of a class, ready for a one-slice evaluation: an MV within (`from`, `up_to`]
/// counts `base + (MV - from) x factor`, `base` being the CV of every slice below, summed in
/// the same order as the valuation sums them (so the result is the same `Decimal`).
#[derive(Clone, Debug)]
struct TierRule {
    from: Decimal,
    up_to: Option<Decimal>,
    factor: Decimal,
    base: Decimal,
}

/// One class's rule: its tiers and its cap.
#[derive(Clone, Debug)]
struct ClassRule {
    tiers: Vec<TierRule>,
    /// MV beyond the last bounded tier (no open tier) counts nothing: CV stays at this.
    top: Option<(Decimal, Decimal)>,
    cap: Option<Decimal>,
}

impl ClassRule {
    fn new(tiers: &[crate::valuation::Tier], cap: Option<Decimal>) -> Self {
        let mut out = Vec::with_capacity(tiers.len());
        let mut from = Decimal::ZERO;
        let mut base = Decimal::ZERO;
        let mut open = false;
        for t in tiers {
            let factor = Decimal::ONE - t.haircut.clamp(Decimal::ZERO, Decimal::ONE);
            // A bound at or below the previous one adds no slice (the method skips it).
            if t.up_to.is_none_or(|u| u > from) {
                out.push(TierRule {
                    from,
                    up_to: t.up_to,
                    factor,
                    base,
                });
            }
            match t.up_to {
                Some(u) if u > from => {
                    base += (u - from) * factor;
                    from = u;
                }
                Some(_) => {}
                None => {
                    open = true;
                    break;
                }
            }
        }
        ClassRule {
            tiers: out,
            top: (!open).then_some((from, base)),
            cap,
        }
    }
}

/// [`ValuationParams`] compiled for revaluation: classes by index.
#[derive(Clone, Debug)]
pub struct Kernel {
    rules: Vec<ClassRule>,
    kinds: HashMap<String, LineKind>,
    default_kind: LineKind,
    names: Vec<String>,
    depeg: Decimal,
    depeg_class: usize,
    params: ValuationParams,
}

/// Index of a class with no tiers (unknown name): counts nothing, like the method.
const NO_RULE: usize = usize::MAX;

impl Kernel {
    pub fn new(params: &ValuationParams) -> Self {
        let mut names: Vec<String> = params.classes.keys().cloned().collect();
        // Capped classes without tiers still exist as names (their MV counts 0).
        for c in params.caps.keys() {
            if !params.classes.contains_key(c) {
                names.push(c.clone());
            }
        }
        let by_name: HashMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let rules = names
            .iter()
            .map(|n| {
                ClassRule::new(
                    params.classes.get(n).map_or(&[][..], Vec::as_slice),
                    params
                        .caps
                        .get(n)
                        .map(|c| (*c).clamp(Decimal::ZERO, Decimal::ONE)),
                )
            })
            .collect();
        // Every asset the parameters name, resolved once; others take the default class.
        let mut kinds: HashMap<String, LineKind> = HashMap::new();
        for a in params.asset_class.keys().chain(params.stablecoins.iter()) {
            kinds.insert(a.clone(), kind_of(params, &by_name, a));
        }
        let default_kind = kind_of(params, &by_name, "\u{0}");
        Kernel {
            kinds,
            default_kind,
            depeg_class: by_name.get(&params.depeg_class).copied().unwrap_or(NO_RULE),
            rules,
            names,
            depeg: params.depeg,
            params: params.clone(),
        }
    }

    pub fn params(&self) -> &ValuationParams {
        &self.params
    }

    /// The class name of an asset before any de-peg move (`cash`, `btc`, ..., `testnet`).
    pub fn class_name(&self, asset: &str) -> &str {
        self.params.class_of(asset)
    }

    fn line(&self, asset: &str, quantity: Decimal) -> Line {
        let k = self.kinds.get(asset).copied().unwrap_or(self.default_kind);
        Line {
            asset: asset.to_owned(),
            quantity,
            class: k.class,
            stable: k.stable,
            testnet: k.testnet,
            cash: asset == CASH_ASSET,
        }
    }

    /// The name of a class index (for tests and flags).
    pub fn class_at(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    /// Progressive haircuts on `mv` for class `class` (exact): only the slice `mv` falls in
    /// is computed, on top of the precomputed CV of the slices below.
    fn tiered(&self, class: usize, mv: Decimal) -> Decimal {
        if mv <= Decimal::ZERO {
            return mv;
        }
        let Some(rule) = self.rules.get(class) else {
            return Decimal::ZERO;
        };
        for t in &rule.tiers {
            if t.up_to.is_none_or(|u| mv <= u) {
                return t.base + (mv - t.from) * t.factor;
            }
        }
        // MV above the last bounded tier counts nothing (the method's rule).
        rule.top.map_or(Decimal::ZERO, |(_, base)| base)
    }

    /// The pre-cap CV of one line at `price` and the class index its cap is looked up in.
    #[inline]
    fn pre_cap(&self, line: &Line, price: Option<Decimal>) -> (Decimal, usize) {
        if line.testnet {
            return (Decimal::ZERO, NO_RULE);
        }
        let mv = match price {
            Some(p) if p > Decimal::ZERO => line.quantity.checked_mul(p).unwrap_or(Decimal::ZERO),
            _ => Decimal::ZERO,
        };
        let mut class = line.class;
        if line.stable && !line.quantity.is_zero() {
            if let Some(p) = price.filter(|p| *p > Decimal::ZERO) {
                if (p - Decimal::ONE).abs() >= self.depeg {
                    class = self.depeg_class;
                }
            }
        }
        (self.tiered(class, mv), class)
    }

    /// CV(q, p): the exact collateral value of `book` at `prices` (aligned with the book's
    /// lines; `None` = no price, MV 0). `scratch` is reused between calls to avoid allocation.
    pub fn cv(
        &self,
        book: &Book,
        prices: &[Option<Decimal>],
        scratch: &mut Vec<(Decimal, usize)>,
    ) -> Decimal {
        self.cv_parts(book, prices, scratch).0
    }

    /// CV and the sum of cap excess (collateral counting 0).
    pub fn cv_parts(
        &self,
        book: &Book,
        prices: &[Option<Decimal>],
        scratch: &mut Vec<(Decimal, usize)>,
    ) -> (Decimal, Decimal) {
        scratch.clear();
        let mut total = Decimal::ZERO;
        for (line, price) in book.lines.iter().zip(prices) {
            let (v, class) = self.pre_cap(line, *price);
            total = total.checked_add(v).unwrap_or(if v > Decimal::ZERO {
                Decimal::MAX
            } else {
                Decimal::MIN
            });
            scratch.push((v, class));
        }
        let base = total.max(Decimal::ZERO);
        let mut excess = Decimal::ZERO;
        for (v, class) in scratch.iter() {
            if let Some(cap) = self.rules.get(*class).and_then(|r| r.cap) {
                let limit = cap * base;
                if *v > limit {
                    excess += *v - limit;
                }
            }
        }
        (total - excess, excess)
    }
}

/// How an asset is valued, resolved once per asset code.
#[derive(Clone, Copy, Debug)]
struct LineKind {
    class: usize,
    stable: bool,
    testnet: bool,
}

fn kind_of(params: &ValuationParams, by_name: &HashMap<String, usize>, asset: &str) -> LineKind {
    let class = params.class_of(asset);
    LineKind {
        class: by_name.get(class).copied().unwrap_or(NO_RULE),
        stable: params.stablecoins.contains(asset),
        testnet: class == TESTNET_CLASS,
    }
}

/// One asset of an account: its counted quantity (summed over sources) and its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub asset: String,
    pub quantity: Decimal,
    class: usize,
    stable: bool,
    testnet: bool,
    /// `USD`: priced at 1, never shocked.
    pub cash: bool,
}

/// An account's holdings resolved for revaluation, one line per asset in asset order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Book {
    pub lines: Vec<Line>,
}

impl Book {
    /// From (asset, quantity) rows in any order; rows of one asset (its sources) are summed
    /// before any tiering (C2).
    pub fn from_rows<'a>(
        kernel: &Kernel,
        rows: impl IntoIterator<Item = (&'a str, Decimal)>,
    ) -> Self {
        let mut lines: Vec<Line> = Vec::new();
        for (asset, q) in rows {
            match lines.binary_search_by(|l| l.asset.as_str().cmp(asset)) {
                Ok(i) => {
                    let l = &mut lines[i];
                    l.quantity = l.quantity.checked_add(q).unwrap_or(Decimal::ZERO);
                }
                Err(i) => lines.insert(i, kernel.line(asset, q)),
            }
        }
        Book { lines }
    }

    /// The counted quantities of a collateral report and the prices it used.
    pub fn from_report(kernel: &Kernel, report: &CollateralReport) -> (Self, Vec<Option<Decimal>>) {
        let book = Book::from_rows(
            kernel,
            report.assets.iter().map(|a| (a.asset.as_str(), a.quantity)),
        );
        let prices = book
            .lines
            .iter()
            .map(|l| {
                report
                    .assets
                    .iter()
                    .find(|a| a.asset == l.asset)
                    .and_then(|a| a.price)
            })
            .collect();
        (book, prices)
    }

    /// The line of `asset`, if held.
    pub fn position(&self, asset: &str) -> Option<usize> {
        self.lines
            .binary_search_by(|l| l.asset.as_str().cmp(asset))
            .ok()
    }

    /// This book with `extra` more of `asset` (a new line if not held) and the index of its
    /// line; `prices` gets `price` inserted or set at that index.
    pub fn with_added(
        &self,
        kernel: &Kernel,
        asset: &str,
        prices: &[Option<Decimal>],
        price: Decimal,
    ) -> (Book, Vec<Option<Decimal>>, usize) {
        let mut book = self.clone();
        let mut prices = prices.to_vec();
        let i = match book.position(asset) {
            Some(i) => {
                prices[i] = Some(price);
                i
            }
            None => {
                let i = book.lines.partition_point(|l| l.asset.as_str() < asset);
                book.lines.insert(i, kernel.line(asset, Decimal::ZERO));
                prices.insert(i, Some(price));
                i
            }
        };
        (book, prices, i)
    }
}
