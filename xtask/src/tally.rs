//! Counts the tests that cargo's harness and wasm-bindgen's runner report,
//! so `cargo xtask test` can close on one `N passed, M failed` line.

/// Passed and failed tests, summed over every `test result:` line seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
}

impl Tally {
    /// Adds the counts of a harness summary line such as
    /// `test result: ok. 5 passed; 0 failed; 0 ignored; ...`; other lines are ignored.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            match (words.next().map(str::parse::<u64>), words.next()) {
                (Some(Ok(n)), Some("passed")) => self.passed += n,
                (Some(Ok(n)), Some("failed")) => self.failed += n,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn reads_cargo_and_wasm_runner_summaries() {
        let mut tally = Tally::default();
        tally.add_line("test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.05s");
        tally.add_line("test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 filtered out; finished in 0.08s");
        tally.add_line("test shows_a_row_per_queue ... ok");
        tally.add_line("running 4 tests");
        assert_eq!(tally, Tally { passed: 8, failed: 1 });
    }
}
