//! A hash map in 64 independently seeded shards, for the maps that hold one entry per
//! instance of the whole registry.
//!
//! A hash table grows by moving every entry into a table twice the size, in one call, under
//! the registry lock: at 229k instances that single call took 64 ms (measured), the tail of
//! every registration behind it. Sharded, each growth moves a 64th of the entries, and the
//! shards grow at different moments, so no operation waits for more than a small table.
//! The shard is picked with a hasher of its own, so keys within a shard spread over that
//! shard's table as in an unsharded one.

use super::Map;
use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

const SHARDS: usize = 64;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Sharded<K, V> {
    shards: Box<[Map<K, V>]>,
    pick: foldhash::quality::RandomState,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Map::default()).collect(),
            pick: foldhash::quality::RandomState::default(),
        }
    }
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // The top bits: 64 shards.
        (self.pick.hash_one(key) >> 58) as usize
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard(key)].get(key)
    }

    pub(crate) fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard(key)].get_key_value(key)
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = self.shard(key);
        self.shards[s].get_mut(key)
    }

    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let s = self.shard(&key);
        self.shards[s].insert(key, value)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = self.shard(key);
        self.shards[s].remove(key)
    }

    pub(crate) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let s = self.shard(&key);
        self.shards[s].entry(key)
    }

    /// The number of entries (sums the shards: for stats and publication, not hot paths).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(Map::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let mut m: Sharded<String, u32> = Sharded::default();
        for i in 0..10_000u32 {
            assert_eq!(m.insert(format!("k{i}"), i), None);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get("k42"), Some(&42));
        assert_eq!(
            m.get_key_value("k7").map(|(k, v)| (k.as_str(), *v)),
            Some(("k7", 7))
        );
        *m.get_mut("k42").unwrap() += 1;
        assert_eq!(m.insert("k42".into(), 0), Some(43));
        *m.entry("k1".into()).or_default() += 5;
        assert_eq!(m.get("k1"), Some(&6));
        assert_eq!(m.remove("k1"), Some(6));
        assert_eq!(m.get("k1"), None);
        assert_eq!(m.len(), 9_999);
        // Every shard is used.
        assert!(m.shards.iter().all(|s| !s.is_empty()));
    }
}
