//! Live streams (Server-Sent Events) per user: each holds a connection open for as long as the
//! charge runs, so one account could otherwise hold any number. Counted per node, in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most live streams one user holds open at a time (on one node).
pub const STREAMS_PER_USER: usize = 4;

/// Open live streams per user id.
#[derive(Debug, Default)]
pub struct StreamCounts {
    open: Mutex<HashMap<i64, usize>>,
}

/// One open stream of a user; dropping it (the stream ends or its client leaves) frees it.
#[derive(Debug)]
pub struct StreamSlot {
    counts: Arc<StreamCounts>,
    user: i64,
}

impl StreamCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for one more stream of `user`, or `None` when the user holds the most already.
    pub fn open(self: &Arc<Self>, user: i64) -> Option<StreamSlot> {
        let mut open = self.lock();
        let n = open.entry(user).or_default();
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            counts: self.clone(),
            user,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.counts.lock();
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_bound_and_a_closed_stream_frees_its_slot() {
        let counts = Arc::new(StreamCounts::default());
        let slots: Vec<_> = (0..STREAMS_PER_USER).map(|_| counts.open(7)).collect();
        assert!(slots.iter().all(Option::is_some));
        assert!(counts.open(7).is_none());
        assert!(counts.open(8).is_some(), "another user is not affected");
        drop(slots);
        assert!(counts.open(7).is_some());
        assert!(counts.lock().get(&7).is_none(), "no count is left behind");
    }
}
