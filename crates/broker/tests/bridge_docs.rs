//! docs/bridges.md's examples are configs Hearth accepts: the opening one
//! bridges `home/#` out at QoS 1 to one remote broker, and the table of
//! rules says what the rules do.

use hearth::Config;
use hearth::bridge::{Direction, TopicRule};

const DOC: &str = include_str!("../../../docs/bridges.md");

/// Every ```toml block of the page, in order.
fn toml_blocks() -> Vec<&'static str> {
    DOC.split("```toml\n").skip(1).filter_map(|rest| rest.split("```").next()).collect()
}

fn config(block: &str) -> Config {
    let config: Config = toml::from_str(block).unwrap_or_else(|err| panic!("not a config: {err}\n{block}"));
    config.validate().unwrap_or_else(|err| panic!("refused: {err}\n{block}"));
    config
}

#[test]
fn the_opening_example_bridges_home_out_at_qos_1_to_one_remote() {
    let blocks = toml_blocks();
    assert!(blocks.len() >= 2, "the page has its examples");
    let first = config(blocks[0]);
    let [bridge] = first.bridges.as_slice() else { panic!("one bridge: {:?}", first.bridges) };
    assert_eq!(bridge.addresses.len(), 1, "one remote broker");
    let rules = bridge.rules();
    let [rule] = rules.as_slice() else { panic!("one rule: {rules:?}") };
    assert_eq!(
        (rule.direction, rule.qos, rule.local_filter(), rule.remote_filter()),
        (Direction::Out, 1, "home/#".to_owned(), "home/#".to_owned())
    );
    for block in &blocks[1..] {
        config(block);
    }
}

#[test]
fn the_rule_table_says_what_the_rules_do() {
    let rows = DOC.lines().filter(|l| l.starts_with("| `\"")).collect::<Vec<_>>();
    assert!(rows.len() >= 5, "the table of rules is there");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let cell = |i: usize| cells[i].split('`').nth(1).unwrap_or_default();
        let line: String = toml::from_str::<toml::Value>(&format!("r = {}", cell(1)))
            .ok()
            .and_then(|v| v.get("r")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("a TOML string: {row}"));
        let rule = TopicRule::parse(&line).unwrap_or_else(|err| panic!("{row}: {err}"));
        let (here, there) = (cell(2), cell(3));
        if rule.direction.outward() {
            assert_eq!(rule.to_remote(here).as_deref(), Some(there), "{row}");
        }
        if rule.direction.inward() {
            assert_eq!(rule.to_local(there).as_deref(), Some(here), "{row}");
        }
    }
}
