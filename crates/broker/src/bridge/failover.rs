//! Which remote address a bridge tries next: a failed attempt moves down
//! the list (wrapping round); a link that was up and went down starts again
//! from the first address (first-preferred, Mosquitto's `round_robin false`)
//! or, with `round_robin`, from the one after the address it was on.

/// A bridge's addresses and the one to try next.
#[derive(Debug, Clone)]
pub struct Addresses {
    hosts: Vec<(String, u16)>,
    next: usize,
    round_robin: bool,
}

impl Addresses {
    /// Starts at the first of `hosts` (a validated config has at least one).
    pub fn new(hosts: Vec<(String, u16)>, round_robin: bool) -> Self {
        Self { hosts, next: 0, round_robin }
    }

    /// The address to try now.
    pub fn current(&self) -> (String, u16) {
        self.hosts.get(self.next).cloned().unwrap_or_else(|| ("127.0.0.1".to_owned(), 1883))
    }

    /// The attempt failed: the next address (the first after the last).
    pub fn failed(&mut self) {
        self.next = (self.next + 1) % self.hosts.len().max(1);
    }

    /// The link was up and went down: back to the first address, or with
    /// `round_robin` on to the next one.
    pub fn lost(&mut self) {
        self.next = if self.round_robin { (self.next + 1) % self.hosts.len().max(1) } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three(round_robin: bool) -> Addresses {
        Addresses::new(vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)], round_robin)
    }

    #[test]
    fn failures_walk_the_list_and_a_lost_link_goes_back_to_the_first() {
        let mut a = three(false);
        let mut seen = vec![a.current().0];
        for step in ["failed", "failed", "failed", "failed", "lost", "failed", "lost"] {
            if step == "failed" {
                a.failed()
            } else {
                a.lost()
            }
            seen.push(a.current().0);
        }
        assert_eq!(seen, ["a", "b", "c", "a", "b", "a", "b", "a"]);
    }

    #[test]
    fn round_robin_moves_on_after_a_lost_link() {
        let mut a = three(true);
        a.failed();
        a.lost();
        assert_eq!(a.current().0, "c");
        a.lost();
        assert_eq!(a.current().0, "a");
    }
}
