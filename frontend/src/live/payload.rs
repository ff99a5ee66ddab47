//! Payloads for a person: JSON laid out as a tree of collapsible objects and arrays,
//! long text cut with a "show all" button, binary as hex. [`shape`] decides
//! (pure, tested natively); [`PayloadView`] draws.

use leptos::prelude::*;
use serde_json::Value;

/// Characters shown before "show all".
pub const FOLD: usize = 1500;
/// Most JSON nodes drawn as a tree; a bigger document is shown as text.
pub const MAX_NODES: usize = 400;

/// How a payload is shown.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Nothing (a cleared retained topic).
    Empty,
    /// A JSON object or array.
    Json(Value),
    /// Plain text (numbers, words, scalar JSON).
    Text(String),
    /// Binary, as hex bytes.
    Hex(String),
}

/// What `payload` is, for [`PayloadView`].
pub fn shape(payload: &str, binary: bool) -> Shape {
    if binary {
        return Shape::Hex(payload.to_string());
    }
    if payload.is_empty() {
        return Shape::Empty;
    }
    let trimmed = payload.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(payload)
    {
        return Shape::Json(value);
    }
    Shape::Text(payload.to_string())
}

/// `text`'s first [`FOLD`] characters, and whether that is all of it.
pub fn fold(text: &str) -> (&str, bool) {
    match text.char_indices().nth(FOLD) {
        Some((at, _)) => (&text[..at], false),
        None => (text, true),
    }
}

/// How many nodes a JSON value has (stops counting past `MAX_NODES`).
pub fn nodes(value: &Value) -> usize {
    fn count(value: &Value, n: &mut usize) {
        if *n > MAX_NODES {
            return;
        }
        *n += 1;
        match value {
            Value::Object(map) => map.values().for_each(|v| count(v, n)),
            Value::Array(list) => list.iter().for_each(|v| count(v, n)),
            _ => {}
        }
    }
    let mut n = 0;
    count(value, &mut n);
    n
}

/// A payload formatted; `full_len` is its size before the topic tree cut it.
#[component]
pub fn PayloadView(
    payload: String,
    #[prop(optional)] binary: bool,
    #[prop(optional)] full_len: usize,
) -> impl IntoView {
    let kept = payload.len();
    let cut = (full_len > kept).then(|| {
        view! { <p class="hint" data-testid="payload-cut">{format!("the first {kept} of {full_len} bytes are kept")}</p> }
    });
    let body = match shape(&payload, binary) {
        Shape::Empty => view! { <p class="empty" data-testid="payload-empty">"(empty)"</p> }.into_any(),
        Shape::Hex(hex) => {
            let bytes = hex.split_whitespace().count();
            view! {
                <p class="hint">{format!("binary, {bytes} bytes shown as hex")}</p>
                <Folded text=hex testid="payload-hex" />
            }
            .into_any()
        }
        Shape::Text(text) => view! { <Folded text=text testid="payload-text" /> }.into_any(),
        Shape::Json(value) if nodes(&value) > MAX_NODES => {
            view! { <Folded text=payload.clone() testid="payload-json-text" /> }.into_any()
        }
        Shape::Json(value) => {
            view! { <div class="json" data-testid="payload-json">{json_node(None, value)}</div> }.into_any()
        }
    };
    view! { <div class="payload-view" data-testid="payload-view">{body}{cut}</div> }
}

/// Text cut at [`FOLD`] characters with a button that shows the rest.
#[component]
fn Folded(text: String, testid: &'static str) -> impl IntoView {
    let all = RwSignal::new(false);
    let (head, whole) = fold(&text);
    let head = head.to_string();
    let chars = text.chars().count();
    view! {
        <pre class="payload-pre" data-testid=testid>{move || if all.get() || whole { text.clone() } else { format!("{head}…") }}</pre>
        {(!whole).then(|| view! {
            <button type="button" data-testid="payload-show-all" on:click=move |_| all.update(|a| *a = !*a)>
                {move || if all.get() { "show less".to_string() } else { format!("show all ({chars} characters)") }}
            </button>
        })}
    }
}

/// One JSON value: objects and arrays as open `<details>` that fold.
fn json_node(key: Option<String>, value: Value) -> AnyView {
    let key = key.map(|k| view! { <span class="json-key">{k}</span>": " });
    match value {
        Value::Object(map) => {
            let summary = format!("{{…}} {} keys", map.len());
            let children = map.into_iter().map(|(k, v)| json_node(Some(k), v)).collect_view();
            view! { <details open><summary>{key}{summary}</summary><div class="json-children">{children}</div></details> }
                .into_any()
        }
        Value::Array(list) => {
            let summary = format!("[…] {} items", list.len());
            let children = list.into_iter().enumerate().map(|(i, v)| json_node(Some(i.to_string()), v)).collect_view();
            view! { <details open><summary>{key}{summary}</summary><div class="json-children">{children}</div></details> }
                .into_any()
        }
        scalar => {
            let class = match &scalar {
                Value::String(_) => "json-string",
                Value::Number(_) => "json-number",
                _ => "json-literal",
            };
            view! { <div class="json-leaf">{key}<span class=class>{scalar.to_string()}</span></div> }.into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_are_json_and_the_rest_text() {
        assert_eq!(shape(r#"{"a":[1,2]}"#, false), Shape::Json(serde_json::json!({"a": [1, 2]})));
        assert!(matches!(shape(" [1]", false), Shape::Json(..)));
        assert_eq!(shape("21.5", false), Shape::Text("21.5".into()));
        assert_eq!(shape("{not json", false), Shape::Text("{not json".into()));
        assert_eq!(shape("", false), Shape::Empty);
        assert_eq!(shape("ff 00", true), Shape::Hex("ff 00".into()));
    }

    #[test]
    fn long_text_folds_at_a_character_boundary() {
        let long = "é".repeat(FOLD + 5);
        let (head, whole) = fold(&long);
        assert_eq!((head.chars().count(), whole), (FOLD, false));
        assert_eq!(fold("short"), ("short", true));
    }

    #[test]
    fn node_counting_stops_at_the_bound() {
        assert_eq!(nodes(&serde_json::json!({"a": [1, 2], "b": null})), 5);
        let big = Value::Array(vec![Value::Null; MAX_NODES * 3]);
        assert_eq!(nodes(&big), MAX_NODES + 1);
    }
}
