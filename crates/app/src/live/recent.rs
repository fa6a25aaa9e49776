//! What was read from the store a moment ago, kept for a second: every T/CEC push needs its
//! operator's credentials and its token's owner, and on a database server each is a round trip
//! (two of the four a push costs on PostgreSQL). A second is shorter than anything a person
//! does to credentials (a rotation or removal on any node applies everywhere within it), and
//! only what was found is kept, so unknown tokens cannot fill it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a value read from the store is used without reading it again.
pub(crate) const KEEP_FOR: Duration = Duration::from_secs(1);

/// Most values kept; past it, the expired ones are dropped, and all when none has expired.
const MOST: usize = 4096;

/// Values read from the store in the last [`KEEP_FOR`], by key.
#[derive(Debug)]
pub(crate) struct Recent<K, V> {
    values: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Self {
            values: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Recent<K, V> {
    /// The value kept for `key`, while it is fresh.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        values
            .get(key)
            .filter(|(read_at, _)| read_at.elapsed() < KEEP_FOR)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value`, read from the store just now.
    pub(crate) fn put(&self, key: K, value: V) {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        if values.len() >= MOST {
            values.retain(|_, (read_at, _)| read_at.elapsed() < KEEP_FOR);
            if values.len() >= MOST {
                values.clear();
            }
        }
        values.insert(key, (Instant::now(), value));
    }

    /// Forgets `key` (its value changed here).
    pub(crate) fn forget(&self, key: &K) {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_for_a_second_and_the_map_stays_bounded() {
        let recent: Recent<String, u32> = Recent::default();
        recent.put("a".into(), 1);
        assert_eq!(recent.get(&"a".into()), Some(1));
        assert_eq!(recent.get(&"b".into()), None);
        recent.forget(&"a".into());
        assert_eq!(recent.get(&"a".into()), None);
        for i in 0..(MOST as u32 * 3) {
            recent.put(format!("k{i}"), i);
        }
        assert!(recent.values.lock().unwrap().len() <= MOST);
        recent.put("old".into(), 7);
        std::thread::sleep(KEEP_FOR + Duration::from_millis(50));
        assert_eq!(recent.get(&"old".into()), None);
    }
}
