//! All configured pairs of one process, computed per tick in dependency order.

use super::{PairCalculator, Quote};
use rust_decimal::Decimal;
use schemas::{ReferencePrice, Ts};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    /// Pairs that convert through each other: none of them could ever be computed first.
    #[error("conversion cycle between reference pairs: {}", pairs.join(", "))]
    ConversionCycle { pairs: Vec<String> },
    /// Two calculators for one record key would publish two interleaved `seq` streams.
    #[error("reference pair {pair} is configured twice")]
    DuplicatePair { pair: String },
}

impl ReferenceError {
    /// Configuration errors: retrying with the same config cannot help.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// All configured pairs, computed in dependency order so that an FX leg (`USDT-USD`) is computed
/// before the pairs that convert through it within the same tick.
#[derive(Debug)]
pub struct ReferenceEngine {
    /// In computation order: dependencies first, then config order.
    pairs: Vec<PairCalculator>,
    /// Per pair: (source quote asset, index in `pairs` of the leg that converts it). A quote
    /// asset without a configured leg is absent and its sources are `FX_UNAVAILABLE`.
    legs: Vec<Vec<(String, usize)>>,
    /// Positions (in computation order) grouped by dependency depth: a pair's legs are all in
    /// earlier levels, so the pairs of one level can be computed in any order or at once.
    levels: Vec<Vec<usize>>,
    /// Worker threads per tick (1 = the calling thread only).
    threads: usize,
}

/// Pairs a thread takes at a time in a parallel tick.
const PARALLEL_BATCH: usize = 32;

/// Pairs (by position) handed to one thread.
type Chunk<'a, 'b> = &'a mut [(usize, &'b mut PairCalculator)];

/// Below this many configured sources a tick is computed on the calling thread: spawning a
/// thread (~tens of µs) would cost more than it saves.
const PARALLEL_MIN_SOURCES: usize = 2_048;

impl ReferenceEngine {
    /// Orders the pairs; fails on a conversion cycle or a pair configured twice.
    pub fn new(pairs: Vec<PairCalculator>) -> Result<Self, ReferenceError> {
        let mut index: HashMap<String, usize> = HashMap::with_capacity(pairs.len());
        for (i, p) in pairs.iter().enumerate() {
            let key = p.params().pair();
            if index.insert(key.clone(), i).is_some() {
                return Err(ReferenceError::DuplicatePair { pair: key });
            }
        }
        // deps[i]: (quote asset, config index of its leg) for every converted source of pair i.
        let deps: Vec<Vec<(String, usize)>> = pairs
            .iter()
            .map(|p| {
                let quote = &p.params().quote;
                let mut d: Vec<(String, usize)> = Vec::new();
                for s in p.sources() {
                    if &s.quote_asset == quote || d.iter().any(|(a, _)| a == &s.quote_asset) {
                        continue;
                    }
                    if let Some(&leg) = index.get(&format!("{}-{}", s.quote_asset, quote)) {
                        d.push((s.quote_asset.clone(), leg));
                    }
                }
                d
            })
            .collect();

        // Kahn's algorithm, always taking the lowest config index that is ready, so the order
        // is stable and follows the config wherever dependencies allow.
        let n = pairs.len();
        let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, d) in deps.iter().enumerate() {
            for &(_, leg) in d {
                dependents[leg].push(i);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &j in &dependents[i] {
                pending[j] -= 1;
                if pending[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        if order.len() < n {
            let pairs = (0..n)
                .filter(|&i| pending[i] > 0)
                .map(|i| pairs[i].params().pair())
                .collect();
            return Err(ReferenceError::ConversionCycle { pairs });
        }

        let mut position = vec![0usize; n];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        let legs: Vec<Vec<(String, usize)>> = order
            .iter()
            .map(|&i| {
                deps[i]
                    .iter()
                    .map(|(asset, leg)| (asset.clone(), position[*leg]))
                    .collect()
            })
            .collect();
        let mut depth = vec![0usize; n];
        let mut levels: Vec<Vec<usize>> = Vec::new();
        for (pos, pair_legs) in legs.iter().enumerate() {
            // Legs come before their users in `order`, so their depth is already known.
            let d = pair_legs
                .iter()
                .map(|&(_, leg)| depth[leg] + 1)
                .max()
                .unwrap_or(0);
            depth[pos] = d;
            if levels.len() <= d {
                levels.resize_with(d + 1, Vec::new);
            }
            levels[d].push(pos);
        }
        let mut slots: Vec<Option<PairCalculator>> = pairs.into_iter().map(Some).collect();
        let pairs: Vec<PairCalculator> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let sources: usize = pairs.iter().map(|p| p.sources().len()).sum();
        let threads = if sources >= PARALLEL_MIN_SOURCES {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        Ok(ReferenceEngine {
            pairs,
            legs,
            levels,
            threads,
        })
    }

    /// Sets the number of threads a tick may use (at least 1). The default is the machine's
    /// parallelism (up to 4) for 2,048 configured sources or more, else 1. The records do not
    /// depend on it: each pair's record is a function of its own state, the quotes and the
    /// records of its FX legs, which are always computed first.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The number of threads a tick may use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// One record per pair for as-of cut `t`, in the order of [`Self::pairs`]. `quotes` is the
    /// table every `SourceSpec::slot` indexes.
    pub fn tick(&mut self, t: Ts, quotes: &[Option<Quote>]) -> Vec<ReferencePrice> {
        if self.threads > 1 && self.pairs.len() > 1 {
            return self.tick_parallel(t, quotes);
        }
        let mut out: Vec<ReferencePrice> = Vec::with_capacity(self.pairs.len());
        for (calc, legs) in self.pairs.iter_mut().zip(&self.legs) {
            let done = &out;
            let fx = |asset: &str| -> Option<Decimal> {
                let &(_, leg) = legs.iter().find(|(a, _)| a == asset)?;
                let rec = done.get(leg)?;
                if rec.status.is_usable() {
                    rec.price
                } else {
                    None
                }
            };
            let rec = calc.compute(t, quotes, &fx);
            out.push(rec);
        }
        out
    }

    /// [`Self::tick`] with the pairs of each dependency level shared out to `self.threads`
    /// threads in small batches: every thread (this one included) takes the next batch until
    /// none is left, so a helper thread that is scheduled late (a busy machine) only takes what
    /// is left and this thread never waits for more than the batch in hand. Every record lands
    /// in its own position, so the result is the sequential one.
    fn tick_parallel(&mut self, t: Ts, quotes: &[Option<Quote>]) -> Vec<ReferencePrice> {
        let n = self.pairs.len();
        let mut out: Vec<Option<ReferencePrice>> = Vec::with_capacity(n);
        out.resize_with(n, || None);
        let mut calcs: Vec<Option<&mut PairCalculator>> = self.pairs.iter_mut().map(Some).collect();
        for level in &self.levels {
            let mut work: Vec<(usize, &mut PairCalculator)> = level
                .iter()
                .filter_map(|&pos| calcs[pos].take().map(|c| (pos, c)))
                .collect();
            let done = &out;
            let legs = &self.legs;
            let helpers = (self.threads - 1).min(work.len().saturating_sub(1) / PARALLEL_BATCH);
            // Each batch is taken out of its cell by whichever thread claims it.
            let cells: Vec<Mutex<Option<Chunk<'_, '_>>>> = work
                .chunks_mut(PARALLEL_BATCH)
                .map(|c| Mutex::new(Some(c)))
                .collect();
            let next = AtomicUsize::new(0);
            let run = || {
                let mut recs = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cell) = cells.get(i) else {
                        break;
                    };
                    // The lock is held only for the `take`, so it cannot be poisoned; were it
                    // ever, its batch is still computed, never skipped.
                    let taken = match cell.lock() {
                        Ok(mut g) => g.take(),
                        Err(poisoned) => poisoned.into_inner().take(),
                    };
                    if let Some(c) = taken {
                        recs.extend(compute_chunk(c, t, quotes, legs, done));
                    }
                }
                recs
            };
            let results: Vec<Vec<(usize, ReferencePrice)>> = std::thread::scope(|s| {
                // A thread that cannot be started leaves its share to the others.
                let handles: Vec<_> = (0..helpers)
                    .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, run).ok())
                    .collect();
                let mut results = vec![run()];
                for h in handles {
                    results.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
                }
                results
            });
            for (pos, rec) in results.into_iter().flatten() {
                out[pos] = Some(rec);
            }
        }
        out.into_iter().flatten().collect()
    }

    /// The calculators in computation order (dependencies first, then config order).
    pub fn pairs(&self) -> &[PairCalculator] {
        &self.pairs
    }
}

/// The records of `chunk` (positions with their calculators); `done` holds every record of the
/// earlier levels.
fn compute_chunk(
    chunk: Chunk<'_, '_>,
    t: Ts,
    quotes: &[Option<Quote>],
    legs: &[Vec<(String, usize)>],
    done: &[Option<ReferencePrice>],
) -> Vec<(usize, ReferencePrice)> {
    chunk
        .iter_mut()
        .map(|(pos, calc)| {
            let pair_legs = &legs[*pos];
            let fx = |asset: &str| -> Option<Decimal> {
                let &(_, leg) = pair_legs.iter().find(|(a, _)| a == asset)?;
                let rec = done.get(leg)?.as_ref()?;
                if rec.status.is_usable() {
                    rec.price
                } else {
                    None
                }
            };
            (*pos, calc.compute(t, quotes, &fx))
        })
        .collect()
}
