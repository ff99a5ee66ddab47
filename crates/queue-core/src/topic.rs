//! Topic names and topic filters, with MQTT's rules.
//!
//! A topic is a `/`-separated path such as `home/hall/door/lock`. A filter may
//! use `+` for exactly one level and `#` (last) for the rest; `home/+/temp`
//! matches `home/kitchen/temp`, `home/#` matches `home` and everything below.
//! As in MQTT, topics starting with `$` are not matched by a filter that starts
//! with a wildcard.

use crate::error::EngineError;
use crate::limits::MAX_TOPIC_LEVELS;

/// The longest topic or filter accepted, in bytes (MQTT's limit).
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// Why a topic or filter with more than [`MAX_TOPIC_LEVELS`] levels is refused.
const TOO_DEEP: &str = "a topic or filter has at most 128 levels (`/`-separated parts)";

/// Checks that `topic` can be published to: non-empty, no wildcards, no NUL,
/// at most [`MAX_TOPIC_LEVELS`] levels.
pub fn validate_topic(topic: &str) -> Result<(), EngineError> {
    let why = if topic.is_empty() {
        Some("a topic cannot be empty")
    } else if topic.len() > MAX_TOPIC_BYTES {
        Some("a topic is at most 65535 bytes")
    } else {
        // One pass over the bytes (all four are ASCII, so never inside a
        // multi-byte character): this runs for every publish.
        let mut levels = 1;
        let mut why = None;
        for b in topic.bytes() {
            match b {
                b'/' => levels += 1,
                0 => why = Some("a topic cannot contain NUL"),
                b'+' | b'#' => why = Some("wildcards `+` and `#` are for filters, not for topics you publish to"),
                _ => continue,
            }
            if why.is_some() {
                break;
            }
        }
        why.or((levels > MAX_TOPIC_LEVELS).then_some(TOO_DEEP))
    };
    match why {
        Some(why) => Err(EngineError::InvalidTopic { topic: shorten(topic), why }),
        None => Ok(()),
    }
}

/// Checks a subscription filter: `+` and `#` must fill a whole level, `#`
/// only last; at most [`MAX_TOPIC_LEVELS`] levels.
pub fn validate_filter(filter: &str) -> Result<(), EngineError> {
    let bad = |why| Err(EngineError::InvalidFilter { filter: shorten(filter), why });
    if filter.is_empty() {
        return bad("a filter cannot be empty");
    }
    if filter.len() > MAX_TOPIC_BYTES {
        return bad("a filter is at most 65535 bytes");
    }
    if filter.contains('\0') {
        return bad("a filter cannot contain NUL");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    if levels.len() > MAX_TOPIC_LEVELS {
        return bad(TOO_DEEP);
    }
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return bad("`#` must be a whole level and the last one, as in `home/#`");
        }
        if level.contains('+') && *level != "+" {
            return bad("`+` must be a whole level, as in `home/+/temperature`");
        }
    }
    Ok(())
}

/// Whether `filter` matches `topic` (both assumed valid). The trie is the fast
/// path for routing; this direct form is used for retained messages and tests.
pub fn matches(filter: &str, topic: &str) -> bool {
    // A topic has no wildcards, so a filter equal to it matches: the common
    // case (a device's own topic), one comparison instead of a walk.
    if filter == topic {
        return true;
    }
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match level {
            "#" => return true,
            "+" => {
                if topic_levels.next().is_none() {
                    return false;
                }
            }
            exact => {
                if topic_levels.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    topic_levels.next().is_none()
}

/// Cuts long user input down for error messages.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn wildcards_match_like_mqtt() {
        assert!(matches("home/+/temp", "home/kitchen/temp"));
        assert!(!matches("home/+/temp", "home/kitchen/sub/temp"));
        assert!(matches("home/#", "home"));
        assert!(matches("home/#", "home/a/b/c"));
        assert!(matches("#", "home/a"));
        assert!(!matches("#", "$SYS/uptime"));
        assert!(!matches("+/uptime", "$SYS/uptime"));
        assert!(matches("$SYS/#", "$SYS/uptime"));
        assert!(matches("a/b", "a/b"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
        assert!(matches("+", "a"));
        assert!(matches("a/+", "a/"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bad_topics_and_filters_are_refused_with_a_reason() {
        assert!(validate_topic("").is_err());
        assert!(validate_topic("home/+").is_err());
        assert!(validate_topic("home/hall").is_ok());
        assert!(validate_filter("home/#/x").is_err());
        assert!(validate_filter("home/ab#").is_err());
        assert!(validate_filter("home/a+").is_err());
        assert!(validate_filter("home/+/x/#").is_ok());
        let deep = vec!["+"; MAX_TOPIC_LEVELS + 1].join("/");
        assert!(validate_filter(&deep).is_err());
        assert!(validate_filter(&deep[2..]).is_ok(), "exactly the limit is accepted");
        assert!(validate_topic(&vec!["a"; MAX_TOPIC_LEVELS + 1].join("/")).is_err());
        assert!(validate_topic(&vec!["a"; MAX_TOPIC_LEVELS].join("/")).is_ok());
        let err = validate_filter("a/#/b").expect_err("`#` in the middle is refused").to_string();
        assert!(err.contains("last"), "{err}");
    }
}
