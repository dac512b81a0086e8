//! Server selection for the client's calls (C-40..C-42): a sticky server, a quarantine of
//! servers that failed, and the order to try the rest in. Pure: time and randomness come
//! in, so the rules are tested without a network.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::time::Duration;
use tokio::time::Instant;

/// Sticky server, quarantine and ordering. Pure: time and randomness come in.
#[derive(Debug)]
pub(crate) struct Selector {
    order: Vec<usize>,
    /// Lengths of the zone groups `order` is made of, own zone first (C-40): each is
    /// shuffled in place, the groups keep their order.
    groups: Vec<usize>,
    quarantined: Vec<bool>,
    quarantined_count: usize,
    sticky: Option<usize>,
    refresh_fraction: f64,
    session: Duration,
    session_ends: Option<Instant>,
    rng: StdRng,
}

impl Selector {
    /// A selector of `servers` servers in one group.
    #[cfg(test)]
    pub(crate) fn new(
        servers: usize,
        refresh_fraction: f64,
        session: Duration,
        rng: StdRng,
    ) -> Self {
        Self::zoned(vec![servers], refresh_fraction, session, rng)
    }

    /// A selector of servers in zone groups of these sizes: servers `0..groups[0]` are
    /// the own zone's, the next `groups[1]` the next zone's, and so on (C-40, C-70).
    pub(crate) fn zoned(
        groups: Vec<usize>,
        refresh_fraction: f64,
        session: Duration,
        rng: StdRng,
    ) -> Self {
        let servers = groups.iter().sum();
        let mut s = Selector {
            order: (0..servers).collect(),
            groups,
            quarantined: vec![false; servers],
            quarantined_count: 0,
            sticky: None,
            refresh_fraction,
            session,
            session_ends: None,
            rng,
        };
        s.reshuffle();
        s
    }

    fn reshuffle(&mut self) {
        // C-40: random order within each zone, so that clients do not all pile onto the
        // first server; the own zone's servers stay ahead of the other zones'.
        let mut rest = &mut self.order[..];
        for &len in &self.groups {
            let (group, tail) = rest.split_at_mut(len.min(rest.len()));
            group.shuffle(&mut self.rng);
            rest = tail;
        }
    }

    fn clear_quarantine(&mut self) {
        self.quarantined.iter_mut().for_each(|q| *q = false);
        self.quarantined_count = 0;
    }

    /// The next server to try in a call that already tried `tried`.
    pub(crate) fn pick(&mut self, now: Instant, tried: &[usize]) -> Option<usize> {
        match self.session_ends {
            Some(end) if now < end => {}
            Some(_) => {
                // C-42: drop the sticky server and the quarantine now and then.
                self.sticky = None;
                self.clear_quarantine();
                self.reshuffle();
                self.session_ends = Some(now + self.jittered_session());
            }
            None => self.session_ends = Some(now + self.jittered_session()),
        }
        if let Some(s) = self.sticky.filter(|s| !tried.contains(s)) {
            return Some(s);
        }
        let n = self.order.len();
        if self.quarantined_count > 0
            && self.quarantined_count as f64 >= self.refresh_fraction * n as f64
        {
            self.clear_quarantine();
        }
        let untried = |i: &&usize| !tried.contains(*i);
        self.order
            .iter()
            .filter(untried)
            .find(|&&i| !self.quarantined.get(i).copied().unwrap_or(false))
            .or_else(|| self.order.iter().find(untried))
            .copied()
    }

    fn jittered_session(&mut self) -> Duration {
        if self.session.is_zero() {
            return Duration::MAX / 4;
        }
        self.session.mul_f64(self.rng.random_range(0.5..=1.5))
    }

    pub(crate) fn succeeded(&mut self, server: usize) {
        self.sticky = Some(server);
    }

    pub(crate) fn failed(&mut self, server: usize) {
        if self.sticky == Some(server) {
            self.sticky = None;
        }
        if let Some(q) = self.quarantined.get_mut(server) {
            if !*q {
                *q = true;
                self.quarantined_count += 1;
            }
        }
    }

    #[cfg(test)]
    fn order(&self) -> &[usize] {
        &self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn selector(n: usize) -> Selector {
        Selector::new(n, 0.66, Duration::from_secs(1200), StdRng::seed_from_u64(7))
    }

    #[test]
    fn c40_order_is_a_permutation_and_varies() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20 {
            let s = Selector::new(5, 0.66, Duration::from_secs(1), StdRng::seed_from_u64(seed));
            let mut o = s.order().to_vec();
            seen.insert(o.clone());
            o.sort_unstable();
            assert_eq!(o, vec![0, 1, 2, 3, 4]);
        }
        assert!(seen.len() > 1, "server order must be randomised");
    }

    #[test]
    fn c41_sticks_to_the_last_good_server() {
        let now = Instant::now();
        let mut s = selector(3);
        let first = s.pick(now, &[]).unwrap();
        assert_eq!(first, s.order()[0]);
        let second = s.pick(now, &[first]).unwrap();
        assert_eq!(second, s.order()[1]);
        s.succeeded(second);
        assert_eq!(s.pick(now, &[]), Some(second));
        assert_eq!(s.pick(now, &[]), Some(second));
    }

    #[test]
    fn c41_quarantine_skips_failed_servers_until_66_percent() {
        let now = Instant::now();
        let mut s = selector(4);
        let o = s.order().to_vec();
        // Server o[0] fails, o[1] answers: o[1] is sticky.
        s.failed(o[0]);
        s.succeeded(o[1]);
        // The sticky one fails: 2 of 4 quarantined (50 %), so o[0] stays out.
        s.failed(o[1]);
        assert_eq!(s.pick(now, &[o[1]]), Some(o[2]));
        // o[2] fails too: 3 of 4 (75 %) >= 66 %, the quarantine is cleared.
        s.failed(o[2]);
        assert_eq!(s.pick(now, &[o[1], o[2]]), Some(o[0]));
        // Within one call, never the same server twice; stop when all were tried.
        assert_eq!(s.pick(now, &[o[0], o[1], o[2]]), Some(o[3]));
        assert_eq!(s.pick(now, &[o[0], o[1], o[2], o[3]]), None);
    }

    #[test]
    fn c41_single_server_is_always_retried() {
        let now = Instant::now();
        let mut s = selector(1);
        s.failed(0);
        assert_eq!(s.pick(now, &[]), Some(0));
        assert_eq!(s.pick(now, &[0]), None);
    }

    #[test]
    fn c40_zone_groups_keep_their_order_and_shuffle_inside() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20 {
            let mut s = Selector::zoned(
                vec![2, 3, 1],
                0.66,
                Duration::from_secs(1),
                StdRng::seed_from_u64(seed),
            );
            let o = s.order().to_vec();
            let mut own = o[..2].to_vec();
            own.sort_unstable();
            let mut next = o[2..5].to_vec();
            next.sort_unstable();
            assert_eq!((own, next, o[5]), (vec![0, 1], vec![2, 3, 4], 5));
            seen.insert(o);
            // The session ends: a reshuffle keeps the groups.
            let _ = s.pick(Instant::now(), &[]);
            let later = s
                .pick(Instant::now() + Duration::from_secs(2), &[])
                .unwrap();
            assert!(later < 2, "the own zone is tried first");
        }
        assert!(seen.len() > 1, "the order inside a zone must be randomised");
    }

    #[test]
    fn c40_c41_failover_reaches_the_next_zone_after_the_own_zone() {
        let now = Instant::now();
        let mut s = Selector::zoned(
            vec![2, 1, 1],
            0.66,
            Duration::from_secs(1200),
            StdRng::seed_from_u64(3),
        );
        let first = s.pick(now, &[]).unwrap();
        let second = s.pick(now, &[first]).unwrap();
        assert!(first < 2 && second < 2 && first != second);
        s.failed(first);
        s.failed(second);
        // Both own-zone servers quarantined (2 of 4 < 66 %): the next zone's server.
        assert_eq!(s.pick(now, &[]), Some(2));
        s.succeeded(2);
        assert_eq!(s.pick(now, &[]), Some(2));
    }

    #[test]
    fn c42_session_expiry_drops_sticky_and_quarantine() {
        let now = Instant::now();
        let mut s = Selector::new(4, 0.66, Duration::from_secs(100), StdRng::seed_from_u64(1));
        let _ = s.pick(now, &[]);
        let o = s.order().to_vec();
        s.failed(o[0]);
        s.succeeded(o[3]);
        assert_eq!(s.pick(now + Duration::from_secs(49), &[]), Some(o[3]));
        // At most 150 s later, the session is over.
        let later = now + Duration::from_secs(151);
        let first = s.pick(later, &[]).unwrap();
        assert_eq!(first, s.order()[0]);
        assert_eq!(s.quarantined_count, 0);
        assert_eq!(s.sticky, None);
    }
}
