//! A seeded generator for randomized tests: a failing test replays from the seed it prints.

/// The seed in environment variable `var` (decimal or 0x-hex) when set, to replay or
/// explore, else `default`.
pub fn seed_from_env(var: &str, default: u64) -> u64 {
    let parsed = std::env::var(var)
        .ok()
        .and_then(|text| match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        });
    // xorshift never leaves the all-zero state.
    parsed.filter(|seed| *seed != 0).unwrap_or(default)
}

/// A tiny deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The faults of a simulated network's links, decided per message from a seed: directed
/// links that are cut, a loss rate and a delay bound. Shared by the gossip simulation
/// (datagrams) and the whole-node simulation (`sim::net`, stream writes).
pub struct LinkFaults {
    /// Directed links that deliver nothing (a partition cuts both directions).
    cut: std::collections::BTreeSet<(std::net::SocketAddr, std::net::SocketAddr)>,
    pub loss_percent: u64,
    max_delay_ms: u64,
    rng: Rng,
    /// Messages decided, and those lost (cut or by the loss rate).
    pub sent: u64,
    pub lost: u64,
}

impl LinkFaults {
    pub fn new(seed: u64, loss_percent: u64, max_delay_ms: u64) -> LinkFaults {
        LinkFaults {
            cut: Default::default(),
            loss_percent,
            max_delay_ms,
            rng: Rng(seed),
            sent: 0,
            lost: 0,
        }
    }

    /// Cuts (or heals) every link between `a` and `b`, both directions.
    pub fn partition(&mut self, a: &[std::net::SocketAddr], b: &[std::net::SocketAddr], cut: bool) {
        for (x, y) in a.iter().flat_map(|x| b.iter().map(move |y| (*x, *y))) {
            for link in [(x, y), (y, x)] {
                match cut {
                    true => self.cut.insert(link),
                    false => self.cut.remove(&link),
                };
            }
        }
    }

    pub fn is_cut(&self, from: std::net::SocketAddr, to: std::net::SocketAddr) -> bool {
        self.cut.contains(&(from, to))
    }

    /// The delay of a message from `from` to `to`, or `None` when it is lost.
    pub fn decide(
        &mut self,
        from: std::net::SocketAddr,
        to: std::net::SocketAddr,
    ) -> Option<std::time::Duration> {
        self.sent += 1;
        if self.is_cut(from, to) || self.rng.chance(self.loss_percent) {
            self.lost += 1;
            return None;
        }
        let delay = self.rng.next() % (self.max_delay_ms + 1);
        Some(std::time::Duration::from_millis(delay))
    }
}
