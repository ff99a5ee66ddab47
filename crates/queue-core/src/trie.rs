//! The routing trie: topic filters → bound values (queue ids).
//!
//! Routing a topic walks one path per wildcard branch instead of testing every
//! binding, so the cost grows with the topic's depth, not with the number of
//! bindings.

use rustc_hash::FxHashMap;

/// A trie keyed by filter levels, holding the values bound with each filter.
#[derive(Debug)]
pub struct TopicTrie<T> {
    root: Node<T>,
    len: usize,
}

#[derive(Debug)]
struct Node<T> {
    exact: FxHashMap<Box<str>, Node<T>>,
    plus: Option<Box<Node<T>>>,
    /// Values bound with a filter ending in `#` at this node.
    hash: Vec<T>,
    /// Values bound with a filter ending exactly at this node.
    here: Vec<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self { exact: FxHashMap::default(), plus: None, hash: Vec::new(), here: Vec::new() }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.plus.is_none() && self.hash.is_empty() && self.here.is_empty()
    }
}

impl<T> Default for TopicTrie<T> {
    fn default() -> Self {
        Self { root: Node::default(), len: 0 }
    }
}

impl<T: Copy + PartialEq> TopicTrie<T> {
    /// Binds `value` with `filter` (assumed valid). Returns false if already bound.
    pub fn insert(&mut self, filter: &str, value: T) -> bool {
        let mut node = &mut self.root;
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            if level == "#" && levels.peek().is_none() {
                return push_unique(&mut node.hash, value, &mut self.len);
            }
            node = match level {
                "+" => node.plus.get_or_insert_with(Box::default),
                exact => node.exact.entry(exact.into()).or_default(),
            };
        }
        push_unique(&mut node.here, value, &mut self.len)
    }

    /// Removes the binding of `value` with `filter`. Returns false if absent.
    pub fn remove(&mut self, filter: &str, value: T) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        let removed = remove_at(&mut self.root, &levels, value);
        if removed {
            self.len -= 1;
        }
        removed
    }

    /// Number of (filter, value) bindings.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no binding exists.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `found` for every value bound with a filter matching `topic`.
    /// A value bound with several matching filters is reported once per filter.
    pub fn for_each_match(&self, topic: &str, mut found: impl FnMut(T)) {
        walk(&self.root, Some(topic), topic.starts_with('$'), &mut found);
    }
}

fn push_unique<T: PartialEq>(values: &mut Vec<T>, value: T, len: &mut usize) -> bool {
    if values.contains(&value) {
        return false;
    }
    values.push(value);
    *len += 1;
    true
}

/// Walks the levels of `rest` (None once the topic is used up), without
/// allocating: routing a message must not cost an allocation per level.
fn walk<T: Copy>(node: &Node<T>, rest: Option<&str>, skip_wildcards: bool, found: &mut impl FnMut(T)) {
    if !skip_wildcards {
        node.hash.iter().for_each(|v| found(*v));
    }
    let Some(rest) = rest else {
        node.here.iter().for_each(|v| found(*v));
        return;
    };
    let (level, rest) = match rest.split_once('/') {
        Some((level, tail)) => (level, Some(tail)),
        None => (rest, None),
    };
    if let Some(child) = node.exact.get(level) {
        walk(child, rest, false, found);
    }
    if let (Some(plus), false) = (&node.plus, skip_wildcards) {
        walk(plus, rest, false, found);
    }
}

fn remove_at<T: PartialEq>(node: &mut Node<T>, levels: &[&str], value: T) -> bool {
    let take = |values: &mut Vec<T>| match values.iter().position(|v| *v == value) {
        Some(i) => {
            values.swap_remove(i);
            true
        }
        None => false,
    };
    match levels {
        [] => take(&mut node.here),
        ["#"] => take(&mut node.hash),
        [level, rest @ ..] => {
            let removed;
            if *level == "+" {
                let Some(child) = node.plus.as_mut() else { return false };
                removed = remove_at(child, rest, value);
                if child.is_empty() {
                    node.plus = None;
                }
            } else {
                let Some(child) = node.exact.get_mut(*level) else { return false };
                removed = remove_at(child, rest, value);
                if child.is_empty() {
                    node.exact.remove(*level);
                }
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::matches;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn matched(trie: &TopicTrie<u32>, topic: &str) -> Vec<u32> {
        let mut out = Vec::new();
        trie.for_each_match(topic, |v| out.push(v));
        out.sort_unstable();
        out
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn trie_agrees_with_the_direct_matcher() {
        let filters = ["home/#", "home/+/temp", "home/kitchen/temp", "#", "+/+", "$SYS/#", "a/+/#", "home"];
        let topics = ["home", "home/kitchen/temp", "home/hall/temp", "a/b", "a/b/c", "$SYS/x", "x", "home/"];
        let mut trie = TopicTrie::default();
        for (i, f) in filters.iter().enumerate() {
            assert!(trie.insert(f, i as u32));
        }
        for topic in topics {
            let want: Vec<u32> = (0..filters.len() as u32).filter(|i| matches(filters[*i as usize], topic)).collect();
            assert_eq!(matched(&trie, topic), want, "topic {topic}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn remove_prunes_and_reports() {
        let mut trie = TopicTrie::default();
        assert!(trie.insert("a/+/c", 1));
        assert!(!trie.insert("a/+/c", 1));
        assert!(trie.insert("a/#", 2));
        assert_eq!(trie.len(), 2);
        assert!(trie.remove("a/+/c", 1));
        assert!(!trie.remove("a/+/c", 1));
        assert!(trie.remove("a/#", 2));
        assert!(trie.is_empty());
        assert!(trie.root.is_empty());
    }
}
