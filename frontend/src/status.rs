//! The one-line connection status.

use leptos::prelude::*;

use crate::model::Status;

/// Shows how the last request to the broker went.
#[component]
pub fn StatusLine(
    /// The current status.
    #[prop(into)]
    status: Signal<Status>,
) -> impl IntoView {
    view! {
        <p class=move || status.with(Status::class) data-testid="status" role="status">
            {move || status.with(Status::text)}
        </p>
    }
}
