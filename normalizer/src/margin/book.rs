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

/// One class's rule: progressive tiers as (upper bound, 1 - haircut) and its cap.
#[derive(Clone, Debug)]
struct ClassRule {
    tiers: Vec<(Option<Decimal>, Decimal)>,
    cap: Option<Decimal>,
}

/// [`ValuationParams`] compiled for revaluation: classes by index.
#[derive(Clone, Debug)]
pub struct Kernel {
    rules: Vec<ClassRule>,
    names: Vec<String>,
    by_name: HashMap<String, usize>,
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
            .map(|n| ClassRule {
                tiers: params
                    .classes
                    .get(n)
                    .map(|ts| {
                        ts.iter()
                            .map(|t| {
                                let h = t.haircut.clamp(Decimal::ZERO, Decimal::ONE);
                                (t.up_to, Decimal::ONE - h)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                cap: params
                    .caps
                    .get(n)
                    .map(|c| (*c).clamp(Decimal::ZERO, Decimal::ONE)),
            })
            .collect();
        Kernel {
            depeg_class: by_name.get(&params.depeg_class).copied().unwrap_or(NO_RULE),
            rules,
            names,
            by_name,
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
        let class = self.class_name(asset);
        Line {
            asset: asset.to_owned(),
            quantity,
            class: self.by_name.get(class).copied().unwrap_or(NO_RULE),
            stable: self.params.stablecoins.contains(asset),
            testnet: class == TESTNET_CLASS,
            cash: asset == CASH_ASSET,
        }
    }

    /// The name of a class index (for tests and flags).
    pub fn class_at(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    /// Progressive haircuts on `mv` for class `class` (exact).
    fn tiered(&self, class: usize, mv: Decimal) -> Decimal {
        if mv <= Decimal::ZERO {
            return mv;
        }
        let Some(rule) = self.rules.get(class) else {
            return Decimal::ZERO;
        };
        let mut cv = Decimal::ZERO;
        let mut from = Decimal::ZERO;
        for (up_to, factor) in &rule.tiers {
            let top = up_to.map_or(mv, |u| u.min(mv));
            if top > from {
                cv += (top - from) * factor;
            }
            match up_to {
                Some(u) => from = from.max(*u),
                None => break,
            }
            if from >= mv {
                break;
            }
        }
        // MV above the last bounded tier counts nothing (the method's rule).
        cv
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
