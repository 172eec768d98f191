//! Venue margin and positions in the normalizer (margin.md section 1).

use super::Normalizer;
use schemas::{PositionObs, Record, VenueMarginObs};

impl Normalizer {
    pub(super) fn apply_margin(&mut self, m: VenueMarginObs, out: &mut Vec<Record>) {
        let _ = (m, out);
    }

    pub(super) fn apply_position(&mut self, p: PositionObs, out: &mut Vec<Record>) {
        let _ = (p, out);
    }
}
