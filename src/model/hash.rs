use super::Status;
use std::fmt::Write as _;

/// Per-status instance counts: the input of the reconcile hash (W-60).
///
/// Kept incrementally by the registry and the client so that the hash of a whole
/// registry costs O(1) to maintain and O(5) to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    counts: [u64; 5],
}

impl StatusCounts {
    /// No instances.
    pub const fn new() -> Self {
        StatusCounts { counts: [0; 5] }
    }

    /// Counts one more instance with `status`.
    pub fn add(&mut self, status: Status) {
        self.counts[status.name_order()] += 1;
    }

    /// Counts one instance with `status` less (saturating at zero).
    pub fn remove(&mut self, status: Status) {
        let c = &mut self.counts[status.name_order()];
        *c = c.saturating_sub(1);
    }

    /// How many instances have `status`.
    pub fn get(&self, status: Status) -> u64 {
        self.counts[status.name_order()]
    }

    /// Total number of instances counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `apps__hashcode` string, e.g. `DOWN_1_UP_3_`; empty for no instances (W-60).
    pub fn hashcode(&self) -> String {
        const BY_NAME: [Status; 5] = [
            Status::Down,
            Status::OutOfService,
            Status::Starting,
            Status::Unknown,
            Status::Up,
        ];
        let mut out = String::new();
        for st in BY_NAME {
            let n = self.counts[st.name_order()];
            if n > 0 {
                // Writing to a String cannot fail.
                let _ = write!(out, "{}_{}_", st.as_str(), n);
            }
        }
        out
    }
}

impl FromIterator<Status> for StatusCounts {
    fn from_iter<I: IntoIterator<Item = Status>>(iter: I) -> Self {
        let mut c = StatusCounts::new();
        for s in iter {
            c.add(s);
        }
        c
    }
}

/// The reconcile hash of a set of instance statuses (W-60, W-61).
///
/// ```
/// use tower_eureka::model::{apps_hashcode, Status::*};
/// assert_eq!(apps_hashcode([Up, Up, Up, Down]), "DOWN_1_UP_3_");
/// assert_eq!(apps_hashcode([]), "");
/// ```
pub fn apps_hashcode<I: IntoIterator<Item = Status>>(statuses: I) -> String {
    statuses.into_iter().collect::<StatusCounts>().hashcode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn n(s: Status, k: usize) -> impl Iterator<Item = Status> {
        std::iter::repeat_n(s, k)
    }

    #[test]
    fn w62_worked_examples() {
        assert_eq!(apps_hashcode([]), "");
        assert_eq!(apps_hashcode([Up]), "UP_1_");
        assert_eq!(apps_hashcode(n(Up, 3).chain(n(Down, 1))), "DOWN_1_UP_3_");
        assert_eq!(apps_hashcode([Up, Starting]), "STARTING_1_UP_1_");
        assert_eq!(apps_hashcode(n(Up, 4)), "UP_4_");
        assert_eq!(
            apps_hashcode(n(Up, 2).chain(n(OutOfService, 1))),
            "OUT_OF_SERVICE_1_UP_2_"
        );
        let mixed = n(Up, 10)
            .chain(n(Unknown, 4))
            .chain(n(Starting, 3))
            .chain(n(OutOfService, 2))
            .chain(n(Down, 1));
        assert_eq!(
            apps_hashcode(mixed),
            "DOWN_1_OUT_OF_SERVICE_2_STARTING_3_UNKNOWN_4_UP_10_"
        );
        assert_eq!(apps_hashcode(n(Up, 12).chain(n(Down, 2))), "DOWN_2_UP_12_");
    }

    #[test]
    fn w60_incremental_counts_match() {
        let mut c = StatusCounts::new();
        c.add(Up);
        c.add(Up);
        c.add(Down);
        c.remove(Up);
        assert_eq!(c.hashcode(), "DOWN_1_UP_1_");
        assert_eq!(c.total(), 2);
        c.remove(Starting);
        assert_eq!(c.total(), 2);
    }
}
