//! Access control: who may publish, subscribe and receive on which topics,
//! and who may use which queues, as pure data.
//!
//! [`Acl::parse`] reads Mosquitto's `acl_file` syntax, so an existing file
//! works unchanged:
//!
//! ```text
//! # Rules before any `user` line are for clients without a username.
//! topic read home/+/temperature
//!
//! user alice
//! topic readwrite home/#
//! topic deny home/hall/door/lock/set
//!
//! user kitchen-display
//! topic read home/kitchen/#
//!
//! # Patterns apply to everyone: %u is the username, %c the client id
//! # (each must be a whole level).
//! pattern write devices/%c/state
//! pattern read users/%u/#
//! ```
//!
//! Hearth adds one line for its native protocol's queues, in the same shape:
//! `queue [read|write|readwrite|configure|all|deny] NAME`, where `read` is
//! consume, `write` is publish to the queue by name, `configure` is declare,
//! delete, bind and unbind, and `all` is all three. `NAME` is a queue name,
//! or a prefix ending in `*`; `%u` and `%c` stand for the username and
//! client id. A `queue` line belongs to the `user` section it is in (or to
//! clients without a username, before any `user` line).
//!
//! ## How a request is decided (as Mosquitto does)
//!
//! A client's own rules are tried first (its `user` section, or the
//! anonymous section), then the patterns; in each list `deny` rules come
//! first. The first rule that matches decides; no matching rule means
//! denied. Wildcards at the start of a rule do not match topics that start
//! with `$`. Pattern rules never match a client whose username or client id
//! contains `+` or `#` (it could otherwise widen its own rules), and `%u`
//! rules never match a client without a username.
//!
//! A subscription to a filter is allowed when a `read` rule covers every
//! topic the filter can match (a user allowed `home/livingroom/#` may
//! subscribe to `home/livingroom/+/temperature` but not to `home/#`), and
//! refused when a `deny` rule covers it. Each message is checked again as it
//! is delivered, so a `deny` carved out of a wider `read` holds.

use std::collections::BTreeMap;
use std::fmt;

/// What a client asks to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicAccess {
    /// Publish to it (a will included).
    Write,
    /// Receive a message published to it (retained ones included).
    Read,
    /// Subscribe to a filter.
    Subscribe,
}

/// What a client asks to do with a queue (native protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAccess {
    /// Consume from it.
    Read,
    /// Publish to it by name.
    Write,
    /// Declare, delete, bind or unbind it.
    Configure,
}

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The username it logged in with (`None`: anonymous).
    pub user: Option<&'a str>,
    /// Its client id.
    pub client_id: &'a str,
}

const READ: u8 = 1;
const WRITE: u8 = 2;
const CONFIGURE: u8 = 4;

/// One rule: a filter (or queue name) and the rights it grants; no rights
/// means `deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: String,
    rights: u8,
}

/// The rules of one section, `deny` rules first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rules {
    topics: Vec<Rule>,
    queues: Vec<Rule>,
}

impl Rules {
    fn add(list: &mut Vec<Rule>, rule: Rule) {
        if rule.rights == 0 {
            let denies = list.iter().take_while(|r| r.rights == 0).count();
            list.insert(denies, rule);
        } else {
            list.push(rule);
        }
    }
}

/// A parsed access control list. See the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    anonymous: Rules,
    users: BTreeMap<String, Rules>,
    patterns: Rules,
}

/// A line of an ACL file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AclError {}

/// Longest ACL file accepted, in bytes (a home's rules fit in a few KiB).
pub const MAX_ACL_BYTES: usize = 1 << 20;

impl Acl {
    /// Reads an ACL file's text (Mosquitto's syntax plus `queue` lines).
    pub fn parse(text: &str) -> Result<Self, AclError> {
        if text.len() > MAX_ACL_BYTES {
            return Err(AclError { line: 0, message: format!("the file is larger than {MAX_ACL_BYTES} bytes") });
        }
        let mut acl = Self::default();
        let mut user: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let error = |message: String| AclError { line: index + 1, message };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            match keyword {
                "user" => {
                    if rest.is_empty() {
                        return Err(error("`user` needs a username".into()));
                    }
                    user = Some(rest.to_owned());
                }
                "topic" | "pattern" | "queue" => {
                    let (rights, pattern) = rights_and_pattern(keyword, rest).map_err(error)?;
                    let rule = Rule { pattern, rights };
                    let rules = if keyword == "pattern" {
                        &mut acl.patterns
                    } else {
                        match &user {
                            Some(name) => acl.users.entry(name.clone()).or_default(),
                            None => &mut acl.anonymous,
                        }
                    };
                    Rules::add(if keyword == "queue" { &mut rules.queues } else { &mut rules.topics }, rule);
                }
                other => {
                    return Err(error(format!(
                        "unknown keyword `{other}`: a line is `user NAME`, `topic [read|write|readwrite|deny] FILTER`, \
                         `pattern [read|write|readwrite|deny] FILTER` or `queue [read|write|readwrite|configure|all|deny] NAME`"
                    )));
                }
            }
        }
        Ok(acl)
    }

    /// Whether `who` may do `access` with `topic` (a topic name, or a
    /// filter for [`TopicAccess::Subscribe`]).
    pub fn topic(&self, who: Who<'_>, access: TopicAccess, topic: &str) -> bool {
        let own = self.own(who);
        if let Some(verdict) = own.and_then(|rules| decide_topic(&rules.topics, access, topic, None)) {
            return verdict;
        }
        if self.patterns.topics.is_empty() || !safe_for_patterns(who) {
            return false;
        }
        decide_topic(&self.patterns.topics, access, topic, Some(who)).unwrap_or(false)
    }

    /// Whether `who` may do `access` with the queue `name`.
    pub fn queue(&self, who: Who<'_>, access: QueueAccess, name: &str) -> bool {
        let wanted = match access {
            QueueAccess::Read => READ,
            QueueAccess::Write => WRITE,
            QueueAccess::Configure => CONFIGURE,
        };
        let Some(rules) = self.own(who) else { return false };
        for rule in &rules.queues {
            if queue_matches(&rule.pattern, name, who) {
                if rule.rights == 0 {
                    return false;
                }
                if rule.rights & wanted != 0 {
                    return true;
                }
            }
        }
        false
    }

    /// The users named in `user` lines.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    fn own(&self, who: Who<'_>) -> Option<&Rules> {
        match who.user {
            Some(user) => self.users.get(user),
            None => Some(&self.anonymous),
        }
    }
}

fn rights_and_pattern(keyword: &str, rest: &str) -> Result<(u8, String), String> {
    if rest.is_empty() {
        return Err(format!("`{keyword}` needs a {}", if keyword == "queue" { "queue name" } else { "topic filter" }));
    }
    let (first, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let queue = keyword == "queue";
    let rights = match first {
        "read" => Some(READ),
        "write" => Some(WRITE),
        "readwrite" => Some(READ | WRITE),
        "deny" => Some(0),
        "configure" if queue => Some(CONFIGURE),
        "all" if queue => Some(READ | WRITE | CONFIGURE),
        _ => None,
    };
    let (rights, pattern) = match rights {
        Some(rights) if !tail.trim().is_empty() => (rights, tail.trim()),
        Some(_) => return Err(format!("`{keyword} {first}` needs a {}", if queue { "queue name" } else { "filter" })),
        // Mosquitto: with one word, it is the filter and the access is readwrite.
        None if tail.trim().is_empty() => (if queue { READ | WRITE | CONFIGURE } else { READ | WRITE }, first),
        None => {
            let kinds =
                if queue { "read, write, readwrite, configure, all or deny" } else { "read, write, readwrite or deny" };
            return Err(format!("unknown access `{first}`: use {kinds}"));
        }
    };
    if !queue {
        crate::topic::validate_filter(pattern).map_err(|err| format!("`{pattern}` is not a topic filter: {err}"))?;
    }
    Ok((rights, pattern.to_owned()))
}

/// The first rule matching decides; `None` when none does.
fn decide_topic(rules: &[Rule], access: TopicAccess, topic: &str, who: Option<Who<'_>>) -> Option<bool> {
    for rule in rules {
        if who.is_some_and(|w| w.user.is_none() && has_level(&rule.pattern, "%u")) {
            continue;
        }
        let pattern = substitute(&rule.pattern, who);
        let hit = match access {
            TopicAccess::Subscribe => covers(&pattern, topic),
            TopicAccess::Read | TopicAccess::Write => crate::topic::matches(&pattern, topic),
        };
        if !hit {
            continue;
        }
        if rule.rights == 0 {
            return Some(false);
        }
        let wanted = if access == TopicAccess::Write { WRITE } else { READ };
        if rule.rights & wanted != 0 {
            return Some(true);
        }
    }
    None
}

fn has_level(pattern: &str, level: &str) -> bool {
    pattern.split('/').any(|l| l == level)
}

/// A pattern with `%u` and `%c` levels replaced (Mosquitto replaces whole
/// levels only).
fn substitute<'a>(pattern: &'a str, who: Option<Who<'_>>) -> std::borrow::Cow<'a, str> {
    let Some(who) = who else { return pattern.into() };
    if !pattern.contains('%') {
        return pattern.into();
    }
    let levels: Vec<&str> = pattern
        .split('/')
        .map(|level| match level {
            "%c" => who.client_id,
            "%u" => who.user.unwrap_or(""),
            other => other,
        })
        .collect();
    levels.join("/").into()
}

fn safe_for_patterns(who: Who<'_>) -> bool {
    let unsafe_text = |s: &str| s.contains(['+', '#']);
    !who.user.is_some_and(unsafe_text) && !unsafe_text(who.client_id)
}

/// Whether every topic `filter` matches is matched by `rule`.
pub fn covers(rule: &str, filter: &str) -> bool {
    let wild = |level: &str| level == "+" || level == "#";
    // A rule starting with a wildcard matches no `$` topic; a filter
    // starting with a wildcard matches none either, so only a literal `$`
    // first level can fall outside.
    if filter.starts_with('$') && rule.split('/').next().is_some_and(wild) {
        return false;
    }
    let mut rule_levels = rule.split('/');
    let mut filter_levels = filter.split('/');
    loop {
        match (rule_levels.next(), filter_levels.next()) {
            (Some("#"), _) => return true,
            (Some(_), None) => return false,
            (None, None) => return true,
            (None, Some(_)) => return false,
            (Some("+"), Some(level)) => {
                if level == "#" {
                    return false;
                }
            }
            (Some(r), Some(f)) => {
                if r != f {
                    return false;
                }
            }
        }
    }
}

fn queue_matches(pattern: &str, name: &str, who: Who<'_>) -> bool {
    let expanded;
    let pattern = if pattern.contains('%') {
        if pattern.contains("%u") && who.user.is_none() {
            return false;
        }
        expanded = pattern.replace("%u", who.user.unwrap_or("")).replace("%c", who.client_id);
        expanded.as_str()
    } else {
        pattern
    };
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Who<'static> = Who { user: Some("alice"), client_id: "phone" };
    const ANON: Who<'static> = Who { user: None, client_id: "sensor-1" };

    fn acl(text: &str) -> Acl {
        Acl::parse(text).expect("the rules parse")
    }

    #[test]
    fn a_user_limited_to_a_room_cannot_unlock_the_door_nor_subscribe_to_everything() {
        let acl = acl("user alice\ntopic readwrite home/livingroom/#\n");
        assert!(acl.topic(ALICE, TopicAccess::Write, "home/livingroom/lamp/set"));
        assert!(!acl.topic(ALICE, TopicAccess::Write, "home/hall/door/lock/set"));
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "home/livingroom/+/temperature"));
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "home/livingroom/#"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "home/#"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "#"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "home/+/lamp"));
    }

    #[test]
    fn read_and_write_are_separate() {
        let acl = acl("user alice\ntopic read sensors/#\ntopic write lights/#\n");
        assert!(acl.topic(ALICE, TopicAccess::Read, "sensors/t"));
        assert!(!acl.topic(ALICE, TopicAccess::Write, "sensors/t"));
        assert!(acl.topic(ALICE, TopicAccess::Write, "lights/1"));
        assert!(!acl.topic(ALICE, TopicAccess::Read, "lights/1"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "lights/#"));
    }

    #[test]
    fn deny_wins_wherever_it_is_written() {
        let acl = acl("user alice\ntopic readwrite home/#\ntopic deny home/hall/door/lock/set\n");
        assert!(acl.topic(ALICE, TopicAccess::Write, "home/hall/light"));
        assert!(!acl.topic(ALICE, TopicAccess::Write, "home/hall/door/lock/set"));
        assert!(!acl.topic(ALICE, TopicAccess::Read, "home/hall/door/lock/set"));
        // The wide subscription is allowed; the denied topic is filtered per message.
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "home/#"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "home/hall/door/lock/set"));
    }

    #[test]
    fn rules_before_any_user_are_for_anonymous_clients_only() {
        let acl = acl("topic read public/#\nuser alice\ntopic read home/#\n");
        assert!(acl.topic(ANON, TopicAccess::Read, "public/news"));
        assert!(!acl.topic(ANON, TopicAccess::Read, "home/x"));
        assert!(!acl.topic(ALICE, TopicAccess::Read, "public/news"));
        let bob = Who { user: Some("bob"), client_id: "b" };
        assert!(!acl.topic(bob, TopicAccess::Read, "public/news"), "a user with no section has no rights");
    }

    #[test]
    fn patterns_substitute_whole_levels_for_everyone() {
        let acl = acl("pattern write devices/%c/state\npattern readwrite users/%u/#\nuser alice\ntopic read x\n");
        assert!(acl.topic(ALICE, TopicAccess::Write, "devices/phone/state"));
        assert!(!acl.topic(ALICE, TopicAccess::Write, "devices/other/state"));
        assert!(acl.topic(ALICE, TopicAccess::Write, "users/alice/inbox"));
        assert!(!acl.topic(ALICE, TopicAccess::Write, "users/bob/inbox"));
        assert!(acl.topic(ANON, TopicAccess::Write, "devices/sensor-1/state"));
        // %u never matches a client without a username.
        assert!(!acl.topic(ANON, TopicAccess::Write, "users//inbox"));
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "users/alice/#"));
    }

    #[test]
    fn a_client_id_with_wildcards_gets_no_pattern_rights() {
        let acl = acl("pattern readwrite devices/%c/#\n");
        let sneaky = Who { user: None, client_id: "#" };
        assert!(!acl.topic(sneaky, TopicAccess::Subscribe, "devices/#"));
        assert!(!acl.topic(sneaky, TopicAccess::Write, "devices/a/b"));
    }

    #[test]
    fn dollar_topics_need_a_rule_that_names_them() {
        let acl = acl("user alice\ntopic read #\n");
        assert!(!acl.topic(ALICE, TopicAccess::Read, "$SYS/broker/uptime"));
        assert!(!acl.topic(ALICE, TopicAccess::Subscribe, "$SYS/#"));
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "#"));
        let acl = Acl::parse("user alice\ntopic read $SYS/#\n").expect("the rules parse");
        assert!(acl.topic(ALICE, TopicAccess::Subscribe, "$SYS/broker/+"));
    }

    #[test]
    fn a_bare_filter_means_readwrite() {
        let acl = acl("user alice\ntopic home/#\n");
        assert!(acl.topic(ALICE, TopicAccess::Write, "home/a"));
        assert!(acl.topic(ALICE, TopicAccess::Read, "home/a"));
    }

    #[test]
    fn queue_rules_grant_each_right_apart() {
        let acl =
            acl("user alice\nqueue read jobs\nqueue all alice.*\nqueue deny alice.secret\nqueue configure %u-tmp\n");
        assert!(acl.queue(ALICE, QueueAccess::Read, "jobs"));
        assert!(!acl.queue(ALICE, QueueAccess::Write, "jobs"));
        assert!(!acl.queue(ALICE, QueueAccess::Configure, "jobs"));
        assert!(acl.queue(ALICE, QueueAccess::Configure, "alice.inbox"));
        assert!(acl.queue(ALICE, QueueAccess::Write, "alice.inbox"));
        assert!(!acl.queue(ALICE, QueueAccess::Read, "alice.secret"));
        assert!(acl.queue(ALICE, QueueAccess::Configure, "alice-tmp"));
        assert!(!acl.queue(ANON, QueueAccess::Read, "jobs"));
    }

    #[test]
    fn bad_lines_are_named() {
        let err = Acl::parse("user alice\ntopic sometimes home/#\n").expect_err("the line is refused");
        assert_eq!(err.line, 2);
        assert!(err.message.contains("unknown access `sometimes`"), "{err}");
        let err = Acl::parse("topic read home/#/x\n").expect_err("the line is refused");
        assert!(err.message.contains("not a topic filter"), "{err}");
        let err = Acl::parse("allow all\n").expect_err("the line is refused");
        assert!(err.message.contains("unknown keyword `allow`"), "{err}");
        assert_eq!(Acl::parse("user\n").expect_err("the line is refused").line, 1);
        assert!(Acl::parse("# comment\n\n   \n").is_ok());
    }

    #[test]
    fn covers_is_set_inclusion_of_matched_topics() {
        assert!(covers("#", "a/b"));
        assert!(covers("a/#", "a"));
        assert!(covers("a/#", "a/+/c"));
        assert!(covers("a/+", "a/b"));
        assert!(covers("a/+", "a/+"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/b", "a/+"));
        assert!(!covers("a/b/c", "a/b"));
        assert!(!covers("a", "a/b"));
        assert!(covers("+/b", "x/b"));
    }
}
