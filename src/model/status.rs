use std::fmt;

/// An instance's status (`InstanceStatus` in Java).
///
/// Only these five values ever go on the wire (W-50). Readers map any other string to
/// [`Status::Unknown`] (W-52) with [`Status::parse_lenient`]; the server's register
/// validation uses the strict [`Status::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// `UP`: ready to receive traffic.
    Up,
    /// `DOWN`: reported down by the instance itself (for example a failing health check).
    Down,
    /// `STARTING`: registered but not ready yet.
    Starting,
    /// `OUT_OF_SERVICE`: taken out of traffic, usually by an operator override.
    OutOfService,
    /// `UNKNOWN`: no status; also the "no override" value of `overriddenStatus`.
    Unknown,
}

impl Status {
    /// All statuses, in Java declaration order.
    pub const ALL: [Status; 5] = [
        Status::Up,
        Status::Down,
        Status::Starting,
        Status::OutOfService,
        Status::Unknown,
    ];

    /// The exact wire name, e.g. `"OUT_OF_SERVICE"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Up => "UP",
            Status::Down => "DOWN",
            Status::Starting => "STARTING",
            Status::OutOfService => "OUT_OF_SERVICE",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Parses an exact (case-sensitive) status name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "UP" => Some(Status::Up),
            "DOWN" => Some(Status::Down),
            "STARTING" => Some(Status::Starting),
            "OUT_OF_SERVICE" => Some(Status::OutOfService),
            "UNKNOWN" => Some(Status::Unknown),
            _ => None,
        }
    }

    /// Parses a status name ignoring ASCII case (the XML reader's rule, W-76).
    pub fn parse_ignore_case(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// Parses like Java's legacy reader: unknown values become [`Status::Unknown`] (W-52).
    pub fn parse_lenient(s: &str) -> Status {
        Status::parse(s).unwrap_or(Status::Unknown)
    }

    /// Index of this status in name order (`DOWN` < `OUT_OF_SERVICE` < `STARTING` <
    /// `UNKNOWN` < `UP`), the order used by the reconcile hash (W-60).
    pub(crate) const fn name_order(self) -> usize {
        match self {
            Status::Down => 0,
            Status::OutOfService => 1,
            Status::Starting => 2,
            Status::Unknown => 3,
            Status::Up => 4,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What last happened to a record: drives delta merging on clients (C-21).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionType {
    /// `ADDED`: registered (or re-registered).
    Added,
    /// `MODIFIED`: status changed.
    Modified,
    /// `DELETED`: cancelled or evicted.
    Deleted,
}

impl ActionType {
    /// The exact wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionType::Added => "ADDED",
            ActionType::Modified => "MODIFIED",
            ActionType::Deleted => "DELETED",
        }
    }

    /// Parses an exact wire name; unknown values are `None` (W-52: treated as absent).
    pub fn parse(s: &str) -> Option<ActionType> {
        match s {
            "ADDED" => Some(ActionType::Added),
            "MODIFIED" => Some(ActionType::Modified),
            "DELETED" => Some(ActionType::Deleted),
            _ => None,
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w50_status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("up"), None);
    }

    #[test]
    fn w52_unknown_status_is_unknown() {
        assert_eq!(Status::parse_lenient("SOME_NEW_STATUS"), Status::Unknown);
        assert_eq!(Status::parse_lenient("up"), Status::Unknown);
        assert_eq!(Status::parse_ignore_case("up"), Some(Status::Up));
        assert_eq!(ActionType::parse("REMOVED"), None);
    }
}
