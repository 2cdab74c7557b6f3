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
