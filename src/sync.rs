//! Locks that survive a panic elsewhere: the crate's one poison policy.
//!
//! Every critical section in this crate leaves its data consistent (single assignments,
//! or whole values swapped in), so a panic in another thread while it held a lock must
//! not wedge the registry, the client or a balancer for good: these take the guard of a
//! poisoned lock as they would take any other. No guard is held across an `.await`.

#[cfg(any(feature = "server", feature = "client"))]
use std::sync::{Mutex, MutexGuard};
#[cfg(feature = "client")]
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `m`, poisoned or not.
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Read-locks `l`, poisoned or not.
#[cfg(feature = "client")]
pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Write-locks `l`, poisoned or not.
#[cfg(feature = "client")]
pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(all(test, any(feature = "server", feature = "client")))]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_locks() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
