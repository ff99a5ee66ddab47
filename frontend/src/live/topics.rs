//! The topic tree: every topic the page has seen with its last value,
//! message count, time and whether it was a retained replay, and a short
//! history per topic.
//!
//! Bounded twice, so a burst on one topic cannot push out another's story:
//! each topic keeps its own last [`TOPIC_HISTORY`] messages, and the tree
//! keeps at most [`MAX_TOPICS`] topics (a new one past that pushes out the
//! topic heard from least recently, and is counted in
//! [`TopicTree::evicted`]). A last value is kept up to [`MAX_LAST`] bytes,
//! a history entry up to [`MAX_POINT`]. Pure: the caller says when a
//! message arrived (ms since the epoch).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::discovery::Topics;

/// Most topics kept.
pub const MAX_TOPICS: usize = 2000;
/// Messages of history kept per topic.
pub const TOPIC_HISTORY: usize = 60;
/// Largest last value kept whole, in bytes (longer ones are cut).
pub const MAX_LAST: usize = 64 * 1024;
/// Largest payload kept in a history entry, in bytes.
pub const MAX_POINT: usize = 1024;
/// Most rows the tree view lists at once.
pub const MAX_ROWS: usize = 400;

/// One message in a topic's history.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// When it arrived (ms since the epoch).
    pub at: f64,
    /// Its payload (cut at [`MAX_POINT`] bytes).
    pub payload: String,
    /// Whether it was a retained replay.
    pub retained: bool,
    /// The number it carries, if any (see [`number`]).
    pub number: Option<f64>,
}

/// What the tree knows of one topic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// The last payload (cut at [`MAX_LAST`] bytes).
    pub last: String,
    /// The last payload's length before any cut, in bytes.
    pub last_len: usize,
    /// Whether the last message was a retained replay.
    pub retained: bool,
    /// Whether the last payload was binary (`last` is then hex).
    pub binary: bool,
    /// Messages seen on it.
    pub count: u64,
    /// When the last one arrived (ms since the epoch).
    pub at: f64,
    /// The tree's running number at its last message (for eviction).
    seq: u64,
    /// Its last [`TOPIC_HISTORY`] messages, oldest first.
    pub history: VecDeque<Point>,
}

/// Every topic seen, bounded.
#[derive(Clone, Debug, Default)]
pub struct TopicTree {
    entries: BTreeMap<String, Entry>,
    seq: u64,
    /// Topics pushed out to make room for newer ones.
    pub evicted: u64,
    /// Messages recorded in all.
    pub messages: u64,
}

impl TopicTree {
    /// Records a message on `topic` that arrived at `at` (a binary payload as hex).
    pub fn record(&mut self, topic: &str, payload: &str, retained: bool, binary: bool, at: f64) {
        self.seq += 1;
        self.messages += 1;
        if !self.entries.contains_key(topic) && self.entries.len() >= MAX_TOPICS {
            let stalest = self.entries.iter().min_by_key(|(_, e)| e.seq).map(|(t, _)| t.clone());
            if let Some(stalest) = stalest {
                self.entries.remove(&stalest);
                self.evicted += 1;
            }
        }
        let entry = self.entries.entry(topic.to_string()).or_default();
        entry.last = cut(payload, MAX_LAST).to_string();
        entry.last_len = payload.len();
        entry.retained = retained;
        entry.binary = binary;
        entry.count += 1;
        entry.at = at;
        entry.seq = self.seq;
        if entry.history.len() == TOPIC_HISTORY {
            entry.history.pop_front();
        }
        let point = Point {
            at,
            payload: cut(payload, MAX_POINT).to_string(),
            retained,
            number: if binary { None } else { number(payload) },
        };
        entry.history.push_back(point);
    }

    /// The entry of `topic`.
    pub fn get(&self, topic: &str) -> Option<&Entry> {
        self.entries.get(topic)
    }

    /// How many topics are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no topic was seen.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every topic and its entry, in topic order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    /// The rows the tree view shows: every level down to the topics, a
    /// branch's children only when it is in `open`, at most [`MAX_ROWS`]
    /// (the second value counts the rows left out past that). Levels sort
    /// level by level, so `lamp/x` stays under `lamp` even beside `lamp 2`.
    pub fn rows(&self, open: &BTreeSet<String>) -> (Vec<Row>, usize) {
        let mut items: Vec<(Vec<&str>, &Entry)> =
            self.entries.iter().map(|(t, e)| (t.split('/').collect(), e)).collect();
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut rows: Vec<Row> = Vec::new();
        let mut hidden = 0;
        let mut prev: Vec<&str> = Vec::new();
        // Per depth of the previous topic: its row (if listed), and whether it is visible.
        let mut listed: Vec<Option<usize>> = Vec::new();
        let mut visible: Vec<bool> = Vec::new();
        for (levels, entry) in items {
            let shared = levels.iter().zip(&prev).take_while(|(a, b)| a == b).count();
            listed.truncate(shared);
            visible.truncate(shared);
            for row in listed.iter().flatten() {
                rows[*row].topics += 1;
                rows[*row].branch = true;
            }
            for depth in shared..levels.len() {
                let path = levels[..=depth].join("/");
                let shown = depth == 0 || (visible[depth - 1] && open.contains(&levels[..depth].join("/")));
                let is_topic = depth + 1 == levels.len();
                let row = (shown && rows.len() < MAX_ROWS).then(|| {
                    rows.push(Row {
                        open: open.contains(&path),
                        path,
                        label: levels[depth].to_string(),
                        depth,
                        topics: 1,
                        branch: !is_topic,
                        value: is_topic.then(|| value(entry)),
                    });
                    rows.len() - 1
                });
                hidden += usize::from(shown && row.is_none());
                listed.push(row);
                visible.push(shown);
            }
            prev = levels;
        }
        (rows, hidden)
    }
}

fn value(entry: &Entry) -> RowValue {
    RowValue {
        last: super::discovery::clip(&entry.last, 80),
        count: entry.count,
        at: entry.at,
        retained: entry.retained,
    }
}

impl Topics for TopicTree {
    fn last(&self, topic: &str) -> Option<&str> {
        self.entries.get(topic).map(|e| e.last.as_str()).filter(|p| !p.is_empty())
    }
    fn each(&self) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
        Box::new(self.entries.iter().map(|(t, e)| (t.as_str(), e.last.as_str())).filter(|(_, p)| !p.is_empty()))
    }
}

/// A topic's last message, as its row shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RowValue {
    /// The last payload, clipped.
    pub last: String,
    /// Messages seen.
    pub count: u64,
    /// When the last arrived.
    pub at: f64,
    /// Whether it was a retained replay.
    pub retained: bool,
}

/// One row of the tree view: a level of the topic hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The topic (or topic prefix) it stands for.
    pub path: String,
    /// Its last level.
    pub label: String,
    /// How deep it is (0: a first level).
    pub depth: usize,
    /// Topics at or below it (counted while it is visible).
    pub topics: usize,
    /// Whether topics lie below it.
    pub branch: bool,
    /// Whether its children are shown.
    pub open: bool,
    /// Its own last message, when it is a topic.
    pub value: Option<RowValue>,
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The number a payload carries: itself (`21.5`), or a JSON object's first
/// numeric field (`{"celsius":21.5}`). Read by serde_json (the page has its
/// parser already; core's float parser would add to the download).
pub fn number(payload: &str) -> Option<f64> {
    let trimmed = payload.trim();
    if trimmed.len() > MAX_POINT || !trimmed.starts_with(|c: char| c == '{' || c == '-' || c.is_ascii_digit()) {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(trimmed).ok()? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Object(map) => map.values().find_map(serde_json::Value::as_f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_keeps_its_last_value_count_and_history() {
        let mut tree = TopicTree::default();
        tree.record("home/t", "20", true, false, 1.0);
        tree.record("home/t", r#"{"celsius":21.5}"#, false, false, 2.0);
        let e = tree.get("home/t").unwrap();
        assert_eq!((e.last.as_str(), e.count, e.at, e.retained), (r#"{"celsius":21.5}"#, 2, 2.0, false));
        let numbers: Vec<_> = e.history.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [Some(20.0), Some(21.5)]);
        assert!(e.history[0].retained);
    }

    #[test]
    fn a_burst_on_one_topic_keeps_anothers_history() {
        let mut tree = TopicTree::default();
        tree.record("quiet", "1", false, false, 0.0);
        for n in 0..5000 {
            tree.record("loud", &n.to_string(), false, false, n as f64);
        }
        assert_eq!(tree.get("loud").unwrap().history.len(), TOPIC_HISTORY);
        assert_eq!(tree.get("loud").unwrap().count, 5000);
        assert_eq!(tree.get("loud").unwrap().history.back().unwrap().payload, "4999");
        assert_eq!(tree.get("quiet").unwrap().history.len(), 1);
    }

    #[test]
    fn topics_are_bounded_and_the_stalest_goes_first() {
        let mut tree = TopicTree::default();
        for n in 0..MAX_TOPICS {
            tree.record(&format!("t/{n}"), "x", false, false, 0.0);
        }
        tree.record("t/0", "again", false, false, 1.0);
        tree.record("new", "x", false, false, 2.0);
        assert_eq!(tree.len(), MAX_TOPICS);
        assert_eq!(tree.evicted, 1);
        assert!(tree.get("t/0").is_some(), "heard from recently: kept");
        assert!(tree.get("t/1").is_none(), "the stalest is pushed out");
        assert!(tree.get("new").is_some());
    }

    #[test]
    fn payloads_are_cut_at_their_bounds() {
        let mut tree = TopicTree::default();
        let big = "é".repeat(MAX_LAST);
        tree.record("big", &big, false, false, 0.0);
        let e = tree.get("big").unwrap();
        assert!(e.last.len() <= MAX_LAST && e.last.len() > MAX_LAST - 2);
        assert_eq!(e.last_len, big.len());
        assert!(e.history[0].payload.len() <= MAX_POINT);
    }

    #[test]
    fn numbers_from_plain_and_json_payloads_only() {
        assert_eq!(number(" 7 "), Some(7.0));
        assert_eq!(number(r#"{"on":true,"watts":12.5}"#), Some(12.5));
        assert_eq!(number("NaN"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number("[1]"), None);
        assert_eq!(number("{bad"), None);
        assert_eq!(number("ON"), None);
    }

    #[test]
    fn rows_follow_the_hierarchy_and_open_branches() {
        let mut tree = TopicTree::default();
        for t in ["home/a/t", "home/a/h", "home/b", "home", "tele/x/LWT"] {
            tree.record(t, "1", false, false, 0.0);
        }
        let (rows, hidden) = tree.rows(&BTreeSet::new());
        let shown: Vec<_> = rows.iter().map(|r| (r.path.as_str(), r.topics, r.value.is_some())).collect();
        assert_eq!(shown, [("home", 4, true), ("tele", 1, false)]);
        assert_eq!(hidden, 0);
        let open: BTreeSet<String> = ["home".to_string(), "home/a".to_string()].into();
        let (rows, _) = tree.rows(&open);
        let shown: Vec<_> = rows.iter().map(|r| (r.path.as_str(), r.depth, r.branch)).collect();
        assert_eq!(
            shown,
            [
                ("home", 0, true),
                ("home/a", 1, true),
                ("home/a/h", 2, false),
                ("home/a/t", 2, false),
                ("home/b", 1, false),
                ("tele", 0, true)
            ]
        );
    }

    #[test]
    fn a_level_keeps_its_children_beside_a_similar_name() {
        let mut tree = TopicTree::default();
        for t in ["z/lamp", "z/lamp 2", "z/lamp/availability"] {
            tree.record(t, "1", false, false, 0.0);
        }
        let open: BTreeSet<String> = ["z".to_string(), "z/lamp".to_string()].into();
        let (rows, _) = tree.rows(&open);
        let shown: Vec<_> = rows.iter().map(|r| (r.path.as_str(), r.branch, r.value.is_some())).collect();
        assert_eq!(
            shown,
            [
                ("z", true, false),
                ("z/lamp", true, true),
                ("z/lamp/availability", false, true),
                ("z/lamp 2", false, true)
            ]
        );
    }

    #[test]
    fn rows_are_bounded() {
        let mut tree = TopicTree::default();
        for n in 0..MAX_ROWS + 10 {
            tree.record(&format!("t{n:04}"), "1", false, false, 0.0);
        }
        let (rows, hidden) = tree.rows(&BTreeSet::new());
        assert_eq!((rows.len(), hidden), (MAX_ROWS, 10));
    }
}
