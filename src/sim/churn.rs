//! Churn on demand: instances created and deleted between listing requests at
//! a set rate, in a chosen shape, so the sweep can be tested and measured
//! against a listing that moves under it (`nbwatch sim --churn RATE
//! --churn-mode MODE`). Creations are the newest instances, so under the
//! default sort (creation time, newest first) they land at the head and push
//! every page down; deletions take an instance at a random place and pull
//! everything after it up. Both are in the journal, the ground truth.

use super::engine::Engine;
use super::rng::Rng;

/// The shape of the churn: what each churn step does.
/// (`--churn-mode`; its words are in `crate::cli`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChurnMode {
    /// One deletion at a random place and one creation at the head: `total`
    /// stays put while the items shift.
    #[default]
    Balanced,
    /// One creation at the head: the listing grows.
    Grow,
    /// One deletion at a random place: the listing shrinks.
    Shrink,
    /// A creation at the head or a deletion at a random place, by a coin toss.
    Walk,
}

/// Steps per listing request, and their shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Churn {
    /// Steps per listing request (0.5: one after every other request).
    pub rate: f64,
    pub mode: ChurnMode,
}

/// Largest `--churn` accepted: steps per listing request.
pub const MAX_RATE: f64 = 50.0;

impl Churn {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.rate.is_finite() && (0.0..=MAX_RATE).contains(&self.rate),
            "--churn must be a number of changes per listing request from 0 to {MAX_RATE}, not {}",
            self.rate
        );
        Ok(())
    }
}

/// The churn's running state: steps owed and its own random stream (the
/// population's history does not depend on how often it is listed).
#[derive(Debug)]
pub struct Churner {
    churn: Option<Churn>,
    owed: f64,
    rng: Rng,
}

impl Churner {
    pub fn new(churn: Option<Churn>, seed: u64) -> Churner {
        Churner {
            churn: churn.filter(|c| c.rate > 0.0),
            owed: 0.0,
            rng: Rng::derive(seed, 3),
        }
    }

    /// A listing request was answered at `at`: the steps it is owed.
    pub fn after_listing(&mut self, engine: &mut Engine, at: i64) {
        let Some(churn) = self.churn else { return };
        self.owed += churn.rate;
        while self.owed >= 1.0 {
            self.owed -= 1.0;
            let create = match churn.mode {
                ChurnMode::Balanced => {
                    engine.remove_random(&mut self.rng, at);
                    true
                }
                ChurnMode::Grow => true,
                ChurnMode::Shrink => false,
                ChurnMode::Walk => self.rng.chance(50),
            };
            if create {
                engine.create_newest(&mut self.rng, at);
            } else if churn.mode != ChurnMode::Balanced {
                engine.remove_random(&mut self.rng, at);
            }
        }
    }
}
