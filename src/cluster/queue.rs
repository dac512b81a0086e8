//! The per-peer task queue: one pending task per `{kind}#{APP}/{id}` (P-30), in the order
//! of their latest write, bounded (P-34), every drop counted (P-35).
//!
//! A task holds only its key: the item's status and timestamps are read from the live
//! record when the batch is built (P-12). A newer write of the same key moves the task to
//! the back (so a cancel after a register, or a register after a cancel, keep their
//! order); the order list may hold stale entries, skipped when popped and compacted when
//! they outnumber the live ones. Every operation is O(1) amortised.

use crate::server::WriteKind;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What one task replicates: a kind of write on one instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TaskKey {
    pub(crate) kind: WriteKind,
    pub(crate) app: Arc<str>,
    pub(crate) id: Arc<str>,
}

impl TaskKey {
    pub(crate) fn new(kind: WriteKind, app: &str, id: &str) -> TaskKey {
        TaskKey {
            kind,
            app: Arc::from(app),
            id: Arc::from(id),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    live: HashMap<TaskKey, u64>,
    order: VecDeque<(u64, TaskKey)>,
    seq: u64,
    cap: usize,
    pub(crate) dropped: u64,
}

impl Queue {
    pub(crate) fn new(cap: usize) -> Queue {
        Queue {
            live: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            cap: cap.max(1),
            dropped: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// A new write: replaces a pending task of the same key and goes to the back. When the
    /// queue is full, the oldest task is dropped (counted).
    pub(crate) fn push(&mut self, key: TaskKey) {
        self.seq += 1;
        if self.live.insert(key.clone(), self.seq).is_none() && self.live.len() > self.cap {
            if let Some(old) = self.pop_one() {
                self.dropped += 1;
                tracing::debug!(app = %old.app, id = %old.id, kind = ?old.kind, "replication task dropped: queue full");
            }
        }
        self.order.push_back((self.seq, key));
        self.compact();
    }

    /// Tasks of a failed batch, back at the front unless a newer task of the same key is
    /// pending (P-32: superseded), in their original order.
    pub(crate) fn requeue_front(&mut self, keys: Vec<TaskKey>) {
        for key in keys.into_iter().rev() {
            if self.live.contains_key(&key) {
                continue;
            }
            if self.live.len() >= self.cap {
                self.dropped += 1;
                continue;
            }
            self.seq += 1;
            self.live.insert(key.clone(), self.seq);
            self.order.push_front((self.seq, key));
        }
    }

    /// Up to `n` tasks, oldest first.
    pub(crate) fn pop_batch(&mut self, n: usize) -> Vec<TaskKey> {
        let mut out = Vec::with_capacity(n.min(self.live.len()));
        while out.len() < n {
            match self.pop_one() {
                Some(k) => out.push(k),
                None => break,
            }
        }
        out
    }

    fn pop_one(&mut self) -> Option<TaskKey> {
        while let Some((seq, key)) = self.order.pop_front() {
            if self.live.get(&key) == Some(&seq) {
                self.live.remove(&key);
                return Some(key);
            }
        }
        None
    }

    fn compact(&mut self) {
        if self.order.len() > 2 * self.live.len() + 1024 {
            let live = &self.live;
            self.order.retain(|(seq, k)| live.get(k) == Some(seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(kind: WriteKind, id: &str) -> TaskKey {
        TaskKey::new(kind, "APP", id)
    }

    // P-30: one task per key, newest write last; P-34/P-35: bounded, drops counted.
    #[test]
    fn p30_coalesces_and_keeps_write_order() {
        let mut q = Queue::new(100);
        q.push(k(WriteKind::Register, "a"));
        q.push(k(WriteKind::Heartbeat, "a"));
        q.push(k(WriteKind::Cancel, "a"));
        q.push(k(WriteKind::Register, "a")); // re-register after the cancel
        for _ in 0..1000 {
            q.push(k(WriteKind::Heartbeat, "b"));
        }
        assert_eq!(q.len(), 4);
        let kinds: Vec<_> = q
            .pop_batch(10)
            .into_iter()
            .map(|t| (t.kind, t.id))
            .collect();
        assert_eq!(
            kinds,
            [
                (WriteKind::Heartbeat, Arc::from("a")),
                (WriteKind::Cancel, Arc::from("a")),
                (WriteKind::Register, Arc::from("a")),
                (WriteKind::Heartbeat, Arc::from("b")),
            ]
        );
        assert!(q.is_empty());
        assert!(q.order.len() < 1100, "stale entries are compacted");
    }

    #[test]
    fn p35_overflow_drops_the_oldest_and_counts() {
        let mut q = Queue::new(2);
        q.push(k(WriteKind::Register, "a"));
        q.push(k(WriteKind::Register, "b"));
        q.push(k(WriteKind::Register, "c"));
        assert_eq!(q.dropped, 1);
        let ids: Vec<_> = q.pop_batch(5).into_iter().map(|t| t.id).collect();
        assert_eq!(ids, [Arc::from("b"), Arc::from("c")]);
    }

    // P-32: retried tasks go first unless superseded.
    #[test]
    fn p32_requeue_goes_first_unless_superseded() {
        let mut q = Queue::new(10);
        q.push(k(WriteKind::Register, "a"));
        q.push(k(WriteKind::Register, "b"));
        let batch = q.pop_batch(2);
        q.push(k(WriteKind::Register, "b"));
        q.push(k(WriteKind::Register, "c"));
        q.requeue_front(batch);
        let ids: Vec<_> = q.pop_batch(5).into_iter().map(|t| t.id).collect();
        assert_eq!(ids, [Arc::from("a"), Arc::from("b"), Arc::from("c")]);
    }
}
