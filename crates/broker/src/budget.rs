//! The memory budget as an operator writes it: bytes (`512MiB`, `2GB`,
//! `1073741824`), a share of the machine's memory (`0.4`, `40%`), or `0`
//! for none. Like RabbitMQ's `vm_memory_high_watermark`, the default is
//! 0.4 of physical memory (or of the cgroup's limit, in a container).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The default share of physical memory.
pub const DEFAULT_FRACTION: f64 = 0.4;

/// A memory budget, before it is resolved against the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryLimit {
    /// No budget: publishers are never blocked for memory.
    Unlimited,
    /// This many bytes.
    Bytes(u64),
    /// This share (0 < share ≤ 1) of physical memory.
    Fraction(f64),
}

impl Default for MemoryLimit {
    fn default() -> Self {
        Self::Fraction(DEFAULT_FRACTION)
    }
}

impl MemoryLimit {
    /// The budget in bytes on this machine; `None` when unlimited.
    pub fn resolve(self) -> Option<u64> {
        match self {
            Self::Unlimited => None,
            Self::Bytes(bytes) => Some(bytes),
            Self::Fraction(share) => Some((physical_memory() as f64 * share) as u64),
        }
    }
}

/// Why a memory budget could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "memory limit `{0}` is not understood: write bytes (`1073741824`, `512MiB`, `2GB`), \
     a share of physical memory (`0.4` or `40%`), or `0` for no limit"
)]
pub struct BadLimit(String);

impl FromStr for MemoryLimit {
    type Err = BadLimit;

    fn from_str(text: &str) -> Result<Self, BadLimit> {
        let bad = || BadLimit(text.to_owned());
        let t = text.trim();
        if let Some(percent) = t.strip_suffix('%') {
            let p: f64 = percent.trim().parse().map_err(|_| bad())?;
            return fraction(p / 100.0).ok_or_else(bad);
        }
        if t.contains('.') && t.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.').is_empty() {
            return fraction(t.parse().map_err(|_| bad())?).ok_or_else(bad);
        }
        let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            _ => return Err(bad()),
        };
        match (number * scale as f64) as u64 {
            0 => Ok(Self::Unlimited),
            bytes => Ok(Self::Bytes(bytes)),
        }
    }
}

fn fraction(share: f64) -> Option<MemoryLimit> {
    (share > 0.0 && share <= 1.0).then_some(MemoryLimit::Fraction(share))
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlimited => write!(f, "0"),
            Self::Bytes(bytes) => write!(f, "{bytes}"),
            Self::Fraction(share) => write!(f, "{share}"),
        }
    }
}

impl Serialize for MemoryLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemoryLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// TOML may give a number or a string.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Int(bytes) => bytes.to_string(),
            Raw::Float(share) => format!("{share:?}"),
            Raw::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Physical memory in bytes, or the cgroup's memory limit if lower (a
/// container's share); 1 GiB when neither can be read.
pub fn physical_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(total), Some(cgroup)) => total.min(cgroup),
        (Some(total), None) => total,
        (None, Some(cgroup)) => cgroup,
        (None, None) => 1 << 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_operators_write_them() {
        let read = |t: &str| t.parse::<MemoryLimit>();
        assert_eq!(read("1073741824"), Ok(MemoryLimit::Bytes(1 << 30)));
        assert_eq!(read("512MiB"), Ok(MemoryLimit::Bytes(512 << 20)));
        assert_eq!(read("2GB"), Ok(MemoryLimit::Bytes(2_000_000_000)));
        assert_eq!(read("1.5 GiB"), Ok(MemoryLimit::Bytes(3 << 29)));
        assert_eq!(read("0.4"), Ok(MemoryLimit::Fraction(0.4)));
        assert_eq!(read("40%"), Ok(MemoryLimit::Fraction(0.4)));
        assert_eq!(read("0"), Ok(MemoryLimit::Unlimited));
        for bad in ["", "lots", "1.5", "0.0", "150%", "12 parsecs", "-1"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let err = read("lots").expect_err("refused").to_string();
        assert!(err.contains("512MiB") && err.contains("0.4"), "{err}");
    }

    #[test]
    fn a_share_resolves_against_physical_memory() {
        let total = physical_memory();
        assert!(total > 0);
        assert_eq!(MemoryLimit::Fraction(0.5).resolve(), Some((total as f64 * 0.5) as u64));
        assert_eq!(MemoryLimit::Unlimited.resolve(), None);
    }

    #[test]
    fn toml_numbers_and_strings_both_work() {
        #[derive(Deserialize)]
        struct C {
            m: MemoryLimit,
        }
        let read = |t: &str| toml::from_str::<C>(t).map(|c| c.m).map_err(|e| e.to_string());
        assert_eq!(read("m = 1048576"), Ok(MemoryLimit::Bytes(1 << 20)));
        assert_eq!(read("m = 0.25"), Ok(MemoryLimit::Fraction(0.25)));
        assert_eq!(read("m = \"256MiB\""), Ok(MemoryLimit::Bytes(256 << 20)));
        assert!(read("m = \"much\"").is_err_and(|e| e.contains("not understood")));
    }
}
